"""Azure Functions entry point (Python v2 model): routes only; every step lives in shared/."""

import azure.functions as func

from shared.health_endpoint import handle_health
from shared.hook_endpoint import handle_hook
from shared.mail_endpoint import handle_mail
from shared.queue_worker import handle_queued_mail

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


# Queue mode (MAIL_DELIVERY=queue): the HTTP functions enqueue, this one sends. The queue name is
# an app setting, resolved by the host: MAIL_QUEUE_NAME must be set (infra and the samples do).
@app.queue_trigger(arg_name="msg", queue_name="%MAIL_QUEUE_NAME%", connection="AzureWebJobsStorage")
def deliver(msg: func.QueueMessage) -> None:
    handle_queued_mail(msg.get_body().decode("utf-8"))
