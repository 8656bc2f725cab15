# azd postdeploy hook on Windows (azure.yaml): the same as wait-for-health.sh.
# Waits until GET $env:FUNCTION_BASE_URL/api/health answers 200, then prints
# the next step.
#
# Why wait: on a fresh `azd up` the app's role assignments (storage, Key Vault,
# Application Insights) take minutes to reach the services, and Flex Consumption
# starts the new package on the first request. /api/health answers 200 when the
# bridge is configured, and 503 with a problem+json body (code, title, detail)
# when it is not, for example a Key Vault reference that did not resolve yet.
#
# Settings (azd env set NAME VALUE), all optional:
#   MAILHOOK_HEALTH_WAIT_S      seconds to wait in all (default 180; 0 skips the wait)
#   MAILHOOK_HEALTH_INTERVAL_S  seconds between attempts (default 10)
# Works in PowerShell 7 and in Windows PowerShell 5.1 (which azd falls back to).
$ErrorActionPreference = 'Stop'

$waitS = if ($env:MAILHOOK_HEALTH_WAIT_S) { [int]$env:MAILHOOK_HEALTH_WAIT_S } else { 180 }
$intervalS = if ($env:MAILHOOK_HEALTH_INTERVAL_S) { [int]$env:MAILHOOK_HEALTH_INTERVAL_S } else { 10 }
if ($intervalS -lt 1) { $intervalS = 1 }
$baseUrl = $env:FUNCTION_BASE_URL
$appName = if ($env:AZURE_FUNCTION_APP_NAME) { $env:AZURE_FUNCTION_APP_NAME } else { '<function app>' }
$resourceGroup = if ($env:AZURE_RESOURCE_GROUP) { $env:AZURE_RESOURCE_GROUP } else { '<resource group>' }

if ($waitS -eq 0) {
    Write-Host "MAILHOOK_HEALTH_WAIT_S=0: not waiting for $baseUrl/api/health."
    exit 0
}
if (-not $baseUrl) {
    Write-Error "FUNCTION_BASE_URL is not set: run 'azd provision' first (it is an output of infra/main.bicep)."
    exit 1
}

$url = "$baseUrl/api/health"
$attempts = [Math]::Max(1, [Math]::Floor($waitS / $intervalS))
$lastBody = ''
Write-Host "Waiting up to ${waitS}s for $url ..."
for ($attempt = 1; ; $attempt++) {
    $status = 0
    $body = ''
    try {
        $response = Invoke-WebRequest -Uri $url -UseBasicParsing -TimeoutSec 15
        $status = [int]$response.StatusCode
        $body = [string]$response.Content
    } catch {
        # Non-2xx answers land here in both PowerShell versions; the body is in ErrorDetails.
        if ($_.Exception.Response) { $status = [int]$_.Exception.Response.StatusCode }
        if ($_.ErrorDetails) { $body = [string]$_.ErrorDetails.Message }
    }
    $doc = $null
    if ($body) {
        $lastBody = $body
        try { $doc = $body | ConvertFrom-Json } catch { $doc = $null }
    }
    if ($status -eq 200 -and $doc -and $doc.health -eq 'ok') {
        Write-Host "Healthy: $url answered 200."
        break
    }
    if ($status -eq 503 -and $doc -and $doc.code) {
        # The app itself answered: it is up, but a setting is wrong (or not resolved yet).
        Write-Host "Attempt $attempt/${attempts}: 503 $($doc.code): $($doc.title)"
        if ($doc.detail) { Write-Host "  $($doc.detail)" }
        # The settings to fix are in its "errors" list: {"field": "<setting>", "message": "..."}.
        foreach ($settingError in @($doc.errors)) {
            if ($settingError) { Write-Host "  $($settingError.field): $($settingError.message)" }
        }
    } else {
        # 0: no answer yet (DNS, cold start); 404: functions not indexed yet; 5xx: host starting.
        Write-Host "Attempt $attempt/${attempts}: HTTP $status, the app is not answering yet."
    }
    if ($attempt -ge $attempts) {
        Write-Host "The app did not become healthy within ${waitS}s."
        if ($lastBody -match 'Key Vault reference') {
            Write-Host "A Key Vault reference did not resolve. Role assignments can take several minutes to propagate;"
            Write-Host "App Service fetches references again when the app restarts:"
            Write-Host "  az functionapp restart -g $resourceGroup -n $appName"
        } else {
            Write-Host "Role assignments can take several minutes to propagate. Check again with:"
            Write-Host "  curl.exe -i $url"
            Write-Host "and, if it reports an unresolved setting, restart the app: az functionapp restart -g $resourceGroup -n $appName"
        }
        Write-Host "Wait again: azd hooks run postdeploy"
        exit 1
    }
    Start-Sleep -Seconds $intervalS
}

if ($env:GRAPH_AUTH -eq 'managedIdentity') {
    Write-Host "Next, as a Privileged Role Administrator: infra/scripts/grant-mail-send.sh (WSL or Cloud Shell; try --dry-run first),"
    Write-Host "then scope it to one mailbox (README, 'Scope Mail.Send to one mailbox')."
} else {
    Write-Host "Next: make sure the app registration has the Mail.Send application permission, with admin consent."
}
