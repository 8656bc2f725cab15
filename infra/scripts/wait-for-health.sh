#!/bin/sh
# azd postdeploy hook (azure.yaml): wait until the deployed app answers
# GET $FUNCTION_BASE_URL/api/health with 200, then print the next step.
#
# Why wait: on a fresh `azd up` the app's role assignments (storage, Key Vault,
# Application Insights) take minutes to reach the services, and Flex Consumption
# starts the new package on the first request (a cold start). Until then the app
# answers 404/503 or not at all. /api/health answers 200 when the bridge is
# configured, and 503 with a problem+json body (code, title, detail, and the
# settings to fix in errors) when it is
# not, for example a Key Vault reference that did not resolve because the
# Key Vault Secrets User role had not propagated yet.
#
# Settings (azd env set NAME VALUE), all optional:
#   MAILHOOK_HEALTH_WAIT_S      seconds to wait in all (default 180; 0 skips the wait)
#   MAILHOOK_HEALTH_INTERVAL_S  seconds between attempts (default 10)
# Reads the azd environment's outputs FUNCTION_BASE_URL, AZURE_FUNCTION_APP_NAME,
# AZURE_RESOURCE_GROUP and GRAPH_AUTH (infra/main.bicep).
# Exit status: 0 once healthy (or skipped), 1 if the app never became healthy.
set -eu

wait_s="${MAILHOOK_HEALTH_WAIT_S:-180}"
interval_s="${MAILHOOK_HEALTH_INTERVAL_S:-10}"
base_url="${FUNCTION_BASE_URL:-}"
app_name="${AZURE_FUNCTION_APP_NAME:-<function app>}"
resource_group="${AZURE_RESOURCE_GROUP:-<resource group>}"

case "$wait_s$interval_s" in
  *[!0-9]*) echo "MAILHOOK_HEALTH_WAIT_S and MAILHOOK_HEALTH_INTERVAL_S must be whole seconds" >&2; exit 2 ;;
esac
[ "$interval_s" -ge 1 ] || interval_s=1

if [ "$wait_s" -eq 0 ]; then
  echo "MAILHOOK_HEALTH_WAIT_S=0: not waiting for $base_url/api/health."
  exit 0
fi
if [ -z "$base_url" ]; then
  echo "FUNCTION_BASE_URL is not set: run 'azd provision' first (it is an output of infra/main.bicep)." >&2
  exit 1
fi
command -v curl >/dev/null 2>&1 || { echo "curl is required to check $base_url/api/health" >&2; exit 1; }

url="$base_url/api/health"
body="$(mktemp)"
trap 'rm -f "$body"' EXIT

# A JSON string field of the body (the app writes it with json.dumps: "key": "value").
field() {
  sed -n 's/.*"'"$1"'": *"\([^"]*\)".*/\1/p' "$body" | head -n 1
}

attempts=$(( wait_s / interval_s ))
[ "$attempts" -ge 1 ] || attempts=1
echo "Waiting up to ${wait_s}s for $url ..."
attempt=1
while :; do
  status="$(curl --silent --show-error --max-time 15 --output "$body" --write-out '%{http_code}' "$url" 2>/dev/null)" || status="${status:-000}"
  if [ "$status" = 200 ] && grep -q '"health": *"ok"' "$body"; then
    echo "Healthy: $url answered 200."
    break
  fi
  if [ "$status" = 503 ] && [ -n "$(field code)" ]; then
    # The app itself answered: it is up, but a setting is wrong (or not resolved yet).
    echo "Attempt $attempt/$attempts: 503 $(field code): $(field title)"
    detail="$(field detail)"
    [ -z "$detail" ] || echo "  $detail"
    # The settings to fix are in its "errors" list: {"field": "<setting>", "message": "..."}.
    grep -o '"field": *"[^"]*", *"message": *"[^"]*"' "$body" \
      | sed 's/"field": *"\([^"]*\)", *"message": *"\([^"]*\)"/  \1: \2/' || true
  else
    # 000: no answer yet (DNS, cold start); 404: functions not indexed yet; 5xx: host starting.
    echo "Attempt $attempt/$attempts: HTTP $status, the app is not answering yet."
  fi
  if [ "$attempt" -ge "$attempts" ]; then
    echo "The app did not become healthy within ${wait_s}s." >&2
    if grep -q 'Key Vault reference' "$body" 2>/dev/null; then
      echo "A Key Vault reference did not resolve. Role assignments can take several minutes to propagate;" >&2
      echo "App Service fetches references again when the app restarts:" >&2
      echo "  az functionapp restart -g $resource_group -n $app_name" >&2
    else
      echo "Role assignments can take several minutes to propagate. Check again with:" >&2
      echo "  curl -i $url" >&2
      echo "and, if it reports an unresolved setting, restart the app: az functionapp restart -g $resource_group -n $app_name" >&2
    fi
    echo "Wait again: azd hooks run postdeploy" >&2
    exit 1
  fi
  attempt=$(( attempt + 1 ))
  sleep "$interval_s"
done

if [ "${GRAPH_AUTH:-}" = managedIdentity ]; then
  echo "Next, as a Privileged Role Administrator: infra/scripts/grant-mail-send.sh (try --dry-run first),"
  echo "then scope it to one mailbox (README, 'Scope Mail.Send to one mailbox')."
else
  echo "Next: make sure the app registration has the Mail.Send application permission, with admin consent."
fi
