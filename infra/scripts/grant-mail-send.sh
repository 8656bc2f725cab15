#!/usr/bin/env bash
# Grant (or revoke) the Microsoft Graph application permission Mail.Send to the
# function app's managed identity. Bicep cannot do this: it is an app role
# assignment in Entra ID, which needs a Privileged Role Administrator (or Global
# Administrator) and the Graph API, not Azure Resource Manager.
#
# Mail.Send as an application permission lets the identity send as ANY mailbox in
# the tenant. Scope it to the bridge's mailbox with Exchange Online RBAC for
# Applications, then run this script with --revoke (README, "Scope Mail.Send to
# one mailbox"): Entra and Exchange grants add up, so the tenant-wide grant would
# otherwise still apply.
#
# --with-mail-read-write also grants (or revokes) Mail.ReadWrite, which the draft send method
# (MAIL_SEND_METHOD=draft, and any message with a file of 3 MB or more) needs to create a draft,
# attach to it and look it up again. It lets the identity read, change and delete the mail of
# every mailbox it can reach: scope it like Mail.Send (README, "Send methods").
#
# Idempotent: an existing assignment is reported and left alone.
# Needs: az (signed in to the right cloud and tenant: `az cloud set`, `az login`).
#
# Run right after `azd up`, the identity's service principal may not have reached
# every Entra ID replica yet: Graph then answers Request_ResourceNotFound ("does
# not exist or one of its queried reference-property objects are not present")
# for an object that does exist. Those answers are retried, a few times with a
# growing delay (MAILHOOK_GRANT_RETRIES, default 6; MAILHOOK_GRANT_RETRY_DELAY_S,
# default 10). Any other error (403: not a Privileged Role Administrator) stops
# at once.
set -euo pipefail

# Microsoft Graph's application ID: the same in every tenant and national cloud.
readonly GRAPH_APP_ID='00000003-0000-0000-c000-000000000000'

usage() {
  cat <<'USAGE'
Usage: grant-mail-send.sh [--principal-id ID] [--cloud global|usgov|usgovdod|china]
                          [--with-mail-read-write] [--revoke] [--dry-run]

  --principal-id ID  object ID of the service principal to grant (default: the
                     azd environment's MANAGED_IDENTITY_PRINCIPAL_ID)
  --cloud NAME       national cloud, as GRAPH_CLOUD (default: the azd
                     environment's GRAPH_CLOUD, else global)
  --with-mail-read-write
                     Mail.ReadWrite too, for the draft send method (README,
                     "Send methods")
  --revoke           remove the tenant-wide grant(s) instead of adding them
  --dry-run          print what would change, change nothing
USAGE
}

azd_value() {
  # Prints an azd environment value, or nothing when azd or the value is missing.
  if command -v azd >/dev/null 2>&1; then
    azd env get-value "$1" 2>/dev/null || true
  fi
}

principal_id=''
cloud=''
action='grant'
dry_run=false
permissions=('Mail.Send')
while [ $# -gt 0 ]; do
  case "$1" in
    --principal-id) principal_id="${2:?--principal-id needs a value}"; shift 2 ;;
    --cloud) cloud="${2:?--cloud needs a value}"; shift 2 ;;
    --with-mail-read-write) permissions+=('Mail.ReadWrite'); shift ;;
    --revoke) action='revoke'; shift ;;
    --dry-run) dry_run=true; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

[ -n "$principal_id" ] || principal_id="$(azd_value MANAGED_IDENTITY_PRINCIPAL_ID)"
[ -n "$cloud" ] || cloud="$(azd_value GRAPH_CLOUD)"
[ -n "$cloud" ] || cloud='global'

if [ -z "$principal_id" ]; then
  echo "No principal: pass --principal-id, or run from the azd project after 'azd provision'." >&2
  exit 2
fi

# Graph endpoints per national cloud (learn.microsoft.com/graph/deployments).
case "$cloud" in
  global) graph='https://graph.microsoft.com' ;;
  usgov) graph='https://graph.microsoft.us' ;;
  usgovdod) graph='https://dod-graph.microsoft.us' ;;
  china) graph='https://microsoftgraph.chinacloudapi.cn' ;;
  *) echo "unknown cloud: $cloud (global, usgov, usgovdod or china)" >&2; exit 2 ;;
esac

command -v az >/dev/null 2>&1 || { echo "az (Azure CLI) is required" >&2; exit 2; }

retries="${MAILHOOK_GRANT_RETRIES:-6}"
retry_delay="${MAILHOOK_GRANT_RETRY_DELAY_S:-10}"
case "$retries$retry_delay" in
  *[!0-9]*) echo "MAILHOOK_GRANT_RETRIES and MAILHOOK_GRANT_RETRY_DELAY_S must be whole numbers" >&2; exit 2 ;;
esac
errors="$(mktemp)"
trap 'rm -f "$errors"' EXIT

az_retry() {
  # Runs az with "$@"; retries while Graph has not replicated a new object yet.
  attempt=1
  while :; do
    if az "$@" 2>"$errors"; then
      return 0
    fi
    if [ "$attempt" -ge "$retries" ] || ! grep -Eq 'Request_ResourceNotFound|does not exist or one of its queried reference-property objects' "$errors"; then
      cat "$errors" >&2
      return 1
    fi
    delay=$(( retry_delay * attempt ))
    echo "Graph does not see the object yet (Entra ID replication); retrying in ${delay}s ($attempt/$retries)..." >&2
    sleep "$delay"
    attempt=$(( attempt + 1 ))
  done
}

graph_get() {
  # $1: path under /v1.0, $2: JMESPath query; prints tab-separated values.
  az_retry rest --method GET --resource "$graph" --url "$graph/v1.0$1" --query "$2" --output tsv
}

principal_name="$(graph_get "/servicePrincipals/$principal_id" 'displayName')"
graph_sp_id="$(graph_get "/servicePrincipals(appId='$GRAPH_APP_ID')" 'id')"
echo "Principal:  $principal_name ($principal_id)"

apply_permission() {
  # $1: the application permission to grant or revoke.
  permission="$1"
  role_id="$(graph_get "/servicePrincipals(appId='$GRAPH_APP_ID')" \
    "appRoles[?value=='$permission' && contains(allowedMemberTypes, 'Application')].id | [0]")"
  if [ -z "$role_id" ]; then
    echo "Microsoft Graph in $cloud has no application role $permission" >&2
    exit 1
  fi

  assignment_id="$(graph_get "/servicePrincipals/$principal_id/appRoleAssignments" \
    "value[?appRoleId=='$role_id' && resourceId=='$graph_sp_id'].id | [0]")"

  echo "Permission: Microsoft Graph $permission, application ($role_id), cloud $cloud"

  if [ "$action" = 'grant' ]; then
    if [ -n "$assignment_id" ]; then
      echo "Already granted (assignment $assignment_id): nothing to do."
      return 0
    fi
    if $dry_run; then
      echo "Dry run: would grant $permission."
      return 0
    fi
    az_retry rest --method POST --resource "$graph" \
      --url "$graph/v1.0/servicePrincipals/$principal_id/appRoleAssignments" \
      --headers 'Content-Type=application/json' \
      --body "{\"principalId\":\"$principal_id\",\"resourceId\":\"$graph_sp_id\",\"appRoleId\":\"$role_id\"}" \
      --output none
    echo "Granted $permission tenant-wide. Managed-identity tokens are cached for up to 24 h: sends may get 403 until the app's token renews."
    echo "Next: scope it to one mailbox with Exchange Online RBAC for Applications, then run this script with --revoke."
  else
    if [ -z "$assignment_id" ]; then
      echo "No tenant-wide $permission grant: nothing to revoke."
      return 0
    fi
    if $dry_run; then
      echo "Dry run: would revoke assignment $assignment_id."
      return 0
    fi
    az rest --method DELETE --resource "$graph" \
      --url "$graph/v1.0/servicePrincipals/$principal_id/appRoleAssignments/$assignment_id" \
      --output none
    echo "Revoked the tenant-wide $permission grant (assignment $assignment_id)."
    echo "The identity now has $permission only for the mailboxes its Exchange Online role assignment covers."
  fi
}

for permission in "${permissions[@]}"; do
  apply_permission "$permission"
done
