"""The accounts API under /api/v1/."""

from django.urls import path

from accounts import apis, views

urlpatterns = [
    path("users", apis.UserCreateApi.as_view(), name="users-create"),
    path("api-keys", apis.ApiKeyListCreateApi.as_view(), name="api-keys"),
    path("api-keys/<str:api_key>", apis.ApiKeyRevokeApi.as_view(), name="api-key-revoke"),
    path("account", apis.AccountApi.as_view(), name="account"),
    path("user/balances", apis.BalanceListApi.as_view(), name="user-balances"),
    path("user/deposit", apis.DepositCreateApi.as_view(), name="user-deposit"),
    path("user/withdraw", apis.WithdrawCreateApi.as_view(), name="user-withdraw"),
    path("user/deposits", apis.DepositHistoryApi.as_view(), name="user-deposits"),
    path("user/withdrawals", apis.WithdrawalHistoryApi.as_view(), name="user-withdrawals"),
]

# The account pages (mounted at the site's root by exchange_site/urls.py).
page_urlpatterns = [
    path("signup", views.signup_page, name="signup"),
    path("login", views.LoginPage.as_view(), name="login"),
    path("logout", views.LogoutPage.as_view(), name="logout"),
    path("account/password", views.PasswordChangePage.as_view(), name="password-change"),
    path("account/api-keys", views.api_keys_page, name="api-keys"),
    path(
        "account/api-keys/<str:api_key>/revoke",
        views.api_key_revoke_page,
        name="api-key-revoke-page",
    ),
    path("wallet", views.wallet_page, name="wallet"),
]
