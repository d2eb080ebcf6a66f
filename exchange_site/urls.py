from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from exchange_site import errors
from exchange_site.health import HealthApi
from trading import views as trading_views

admin.site.site_header = "Exchange operations"
admin.site.site_title = "Exchange admin"

urlpatterns = [
    path("", trading_views.home, name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/health", HealthApi.as_view(), name="health"),
    path("api/v1/", include("accounts.urls")),
    path("api/v1/", include("trading.urls")),
    path("api/v1/", include("marketdata.urls")),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Unknown /api/ paths answer JSON even with DEBUG on (where handler404 is not used).
    re_path(r"^api/", errors.api_not_found),
]

if settings.DEBUG:
    # Development only; in production collectstatic into STATIC_ROOT and serve it in front.
    urlpatterns += staticfiles_urlpatterns()

handler400 = "exchange_site.errors.bad_request"
handler403 = "exchange_site.errors.permission_denied"
handler404 = "exchange_site.errors.page_not_found"
handler500 = "exchange_site.errors.server_error"
