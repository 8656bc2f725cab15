"""Azure Functions entry point (Python v2 model): routes only; every step lives in shared/."""

import azure.functions as func

from shared.health_endpoint import handle_health
from shared.hook_endpoint import handle_hook
from shared.mail_endpoint import handle_mail

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="mail", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def mail(req: func.HttpRequest) -> func.HttpResponse:
    return handle_mail(req)


@app.route(route="hooks/{source}", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def hooks(req: func.HttpRequest) -> func.HttpResponse:
    return handle_hook(req)


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    return handle_health(req)
