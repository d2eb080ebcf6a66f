from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import urls as accounts_urls
from binance_compat import urls as binance_urls
from common import errors
from exchange_site import views
from exchange_site.health import HealthApi
from marketdata import urls as marketdata_urls
from trading import urls as trading_urls

admin.site.site_header = "Exchange operations"
admin.site.site_title = "Exchange admin"
# Reconciliation alerts and withdrawals waiting, above the app list (accounts/templatetags).
admin.site.index_template = "admin/exchange_index.html"
admin.site.login = views.admin_login  # type: ignore[method-assign]

urlpatterns = [
    path("api/v1/health", HealthApi.as_view(), name="health"),
    # One resolver for the whole API, trading first: each include that does not match raises
    # Resolver404 and records what it tried, which was a tenth of an order request's CPU.
    path(
        "api/v1/",
        include(
            [*trading_urls.urlpatterns, *accounts_urls.urlpatterns, *marketdata_urls.urlpatterns]
        ),
    ),
    # The Binance-compatible surface (docs/binance-compat.md); not in /api/schema.
    path("api/v3/", include(binance_urls.urlpatterns)),
    # After the API: a resolver whose prefix does not match (admin/) raises Resolver404, and
    # the API should not pay that on every request.
    # The web UI's pages (docs/web-ui.md).
    *marketdata_urls.page_urlpatterns,
    *trading_urls.page_urlpatterns,
    *accounts_urls.page_urlpatterns,
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Unknown /api/ paths answer JSON even with DEBUG on (where handler404 is not used).
    re_path(r"^api/", errors.api_not_found),
]

if settings.DEBUG:
    # Development only; in production collectstatic into STATIC_ROOT and serve it in front.
    urlpatterns += staticfiles_urlpatterns()

handler400 = "common.errors.bad_request"
handler403 = "common.errors.permission_denied"
handler404 = "common.errors.page_not_found"
handler500 = "common.errors.server_error"
