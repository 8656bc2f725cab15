// The Flex Consumption plan and the function app: runtime, scale, identity and
// every app setting the bridge reads. Secrets never appear here: Graph auth is
// the managed identity, and the Graph client secret and the /api/hooks caller
// secrets, when given, are Key Vault references (this module gets their URIs only).

param name string
param planName string
param location string
param tags object

@description('azd finds the deploy target by this tag; it must match the service name in azure.yaml.')
param serviceName string = 'api'

@description('Resource ID of the user-assigned identity the app runs as.')
param identityResourceId string

@description('Client ID of that identity: host storage, App Insights and (managed-identity auth) Graph.')
param identityClientId string

param storageAccountName string
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string

@description('URL of the blob container Flex Consumption deploys the app package to.')
param deploymentContainerUrl string

param applicationInsightsConnectionString string

@description('Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Most instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

// Set, not left to the platform's default: the HTTP functions wait on Graph and Table storage far
// more than they compute, so one instance serves many at once, and fewer instances in a storm mean
// less contention on each mailbox's shared ledger. How much is sent never grows with instances: the
// mailbox limits (4 in flight, the pace, the budget) are shared by all of them.
@description('HTTP invocations one instance runs at once (scaleAndConcurrency.triggers.http.perInstanceConcurrency).')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

@description('Always-ready (pre-warmed, billed) instances for HTTP triggers; 0 scales to zero.')
@minValue(0)
@maxValue(20)
param alwaysReadyInstanceCount int = 0

// Mail settings: names and meaning are the app's (see README, "Configuration").
@allowed([
  'graph'
  'outbox'
])
param mailTransport string = 'graph'
@allowed([
  ''
  'mime'
  'json'
])
param mailMessageFormat string = ''
@allowed([
  'none'
  'daily'
])
param mailThreadByDate string = 'none'
param mailSender string
param mailAllowedSenders string = ''
param mailAllowedFrom string = ''
param mailDefaultTo string = ''
param mailAllowedRecipientDomains string = ''
param mailSendDeadlineSeconds int = 25

// Delivery and duplicate suppression (issue 5).
@allowed([
  'direct'
  'queue'
])
param mailDelivery string = 'direct'

@allowed([
  'sendmail'
  'draft'
])
param mailSendMethod string = 'sendmail'

@description('The outbound queue storage.bicep created (MAIL_QUEUE_NAME).')
@minLength(3)
@maxLength(56)
param mailQueueName string = 'outbound-mail'

@minValue(1)
@maxValue(604800)
param mailIdempotencyTtlSeconds int = 86400

@minValue(1)
@maxValue(604800)
param mailRepeatingDedupTtlSeconds int = 900

@minValue(0)
@maxValue(100000)
param mailRateLimitPerMinute int = 300

@minValue(1)
@maxValue(100000)
param mailRateLimitBurst int = 100

@minValue(1)
@maxValue(10000)
param mailDailyRecipientBudget int = 8000

@description('MAIL_DIGEST_RESERVE: recipients of the daily budget kept for storm digests; below the budget.')
@minValue(0)
@maxValue(10000)
param mailDigestReserve int = 500

@description('MAIL_MAILBOX_MESSAGES_PER_MINUTE: messages per sender mailbox per minute, every instance together; Exchange delays mail past 30.')
@minValue(1)
@maxValue(10000)
param mailMailboxMessagesPerMinute int = 30

@description('MAIL_DIGEST_WINDOW_S: seconds held notifications gather before the digest of their route is sent.')
@minValue(1)
@maxValue(3600)
param mailDigestWindowSeconds int = 60

@allowed([
  'global'
  'usgov'
  'usgovdod'
  'china'
])
param graphCloud string = 'global'

@description('Override of the Graph endpoint; empty keeps the app\'s default for graphCloud.')
param graphBaseUrl string = ''

@description('Override of the Entra authority host; empty keeps the app\'s default for graphCloud.')
param azureAuthorityHost string = ''

@description('Tenant the app gets Graph tokens from.')
param graphTenantId string

@description('Client ID the app gets Graph tokens as: the managed identity, or the app registration with a client secret.')
param graphClientId string

@description('Version-less Key Vault URI of the client secret; empty for managed-identity auth.')
param graphClientSecretUri string = ''

@description('Webhook routes (MAIL_ROUTES); empty: the app\'s single default route.')
param mailRoutes object = {}

@description('Folder of Jinja2 templates in the deployed app (MAIL_TEMPLATES_DIR); empty: built-in templates.')
param mailTemplatesDir string = ''

param azureMonitorWebhookAudience string = ''

@description('Version-less Key Vault URI of HOOK_BEARER_TOKEN; empty: no bearer token required.')
param hookBearerTokenUri string = ''

@description('Version-less Key Vault URI of GITHUB_WEBHOOK_SECRET; empty: GitHub signatures not checked.')
param githubWebhookSecretUri string = ''

@description('Version-less Key Vault URI of GRAFANA_WEBHOOK_SECRET; empty: Grafana signatures not checked.')
param grafanaWebhookSecretUri string = ''

@description('Version-less Key Vault URI of PAGERDUTY_WEBHOOK_SECRET; empty: PagerDuty signatures not checked.')
param pagerdutyWebhookSecretUri string = ''

@description('Version-less Key Vault URI of SENTRY_CLIENT_SECRET; empty: Sentry signatures not checked.')
param sentryClientSecretUri string = ''

@description('Header Grafana sends the signed timestamp in (GRAFANA_WEBHOOK_TIMESTAMP_HEADER); empty: none.')
param grafanaWebhookTimestampHeader string = ''

// The Python the tests run on (.ci/run); Flex takes the runtime from here, not from app settings.
var pythonVersion = '3.11'

// AzureWebJobsStorage__accountName, not only the per-service URIs: the host can
// race and miss __blobServiceUri at start-up (Azure/azure-functions-host#11787,
// seen as #11782 on Flex). __accountName derives *.core.windows.net endpoints,
// so the service URIs are added only in clouds with another storage suffix.
var storageSuffix = environment().suffixes.storage
var isPublicCloudStorage = storageSuffix == 'core.windows.net'

var hostStorageSettings = concat([
  {
    name: 'AzureWebJobsStorage__accountName'
    value: storageAccountName
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
], isPublicCloudStorage ? [] : [
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: blobEndpoint
  }
  {
    name: 'AzureWebJobsStorage__queueServiceUri'
    value: queueEndpoint
  }
  {
    name: 'AzureWebJobsStorage__tableServiceUri'
    value: tableEndpoint
  }
])

var monitoringSettings = [
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: applicationInsightsConnectionString
  }
  {
    // Entra auth for telemetry: App Insights has local auth disabled.
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
]

var mailSettings = [
  {
    name: 'MAIL_TRANSPORT'
    value: mailTransport
  }
  {
    name: 'MAIL_MESSAGE_FORMAT'
    value: mailMessageFormat
  }
  {
    name: 'MAIL_THREAD_BY_DATE'
    value: mailThreadByDate
  }
  {
    // Only read with MAIL_TRANSPORT=outbox; /tmp is the writable path on Flex (lost on recycle).
    name: 'MAIL_OUTBOX_DIR'
    value: '/tmp/mailhook-outbox'
  }
  {
    name: 'MAIL_SENDER'
    value: mailSender
  }
  {
    name: 'MAIL_ALLOWED_SENDERS'
    value: mailAllowedSenders
  }
  {
    name: 'MAIL_ALLOWED_FROM'
    value: mailAllowedFrom
  }
  {
    name: 'MAIL_DEFAULT_TO'
    value: mailDefaultTo
  }
  {
    name: 'MAIL_ALLOWED_RECIPIENT_DOMAINS'
    value: mailAllowedRecipientDomains
  }
  {
    name: 'MAIL_SEND_DEADLINE_S'
    value: string(mailSendDeadlineSeconds)
  }
  {
    name: 'MAIL_SEND_METHOD'
    value: mailSendMethod
  }
  {
    name: 'GRAPH_CLOUD'
    value: graphCloud
  }
  {
    name: 'AZURE_TENANT_ID'
    value: graphTenantId
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: graphClientId
  }
]

// Always set, whatever the mode: the queue-triggered function's binding reads
// %MAIL_QUEUE_NAME%, and the host refuses to start a function whose binding
// expression it cannot resolve, so MAIL_QUEUE_NAME must never be conditional.
var deliverySettings = [
  {
    name: 'MAIL_DELIVERY'
    value: mailDelivery
  }
  {
    name: 'MAIL_QUEUE_NAME'
    value: mailQueueName
  }
  {
    name: 'MAIL_IDEMPOTENCY_TTL_S'
    value: string(mailIdempotencyTtlSeconds)
  }
  {
    name: 'MAIL_REPEATING_DEDUP_TTL_S'
    value: string(mailRepeatingDedupTtlSeconds)
  }
  {
    name: 'MAIL_RATE_LIMIT_PER_MINUTE'
    value: string(mailRateLimitPerMinute)
  }
  {
    name: 'MAIL_RATE_LIMIT_BURST'
    value: string(mailRateLimitBurst)
  }
  {
    name: 'MAIL_DAILY_RECIPIENT_BUDGET'
    value: string(mailDailyRecipientBudget)
  }
  {
    name: 'MAIL_DIGEST_RESERVE'
    value: string(mailDigestReserve)
  }
  {
    name: 'MAIL_MAILBOX_MESSAGES_PER_MINUTE'
    value: string(mailMailboxMessagesPerMinute)
  }
  {
    name: 'MAIL_DIGEST_WINDOW_S'
    value: string(mailDigestWindowSeconds)
  }
]

// Overrides, routes, templates and secrets are set only when given: an empty
// value would still count as "set" for the app.
var graphBaseUrlSetting = empty(graphBaseUrl) ? [] : [
  {
    name: 'GRAPH_BASE_URL'
    value: graphBaseUrl
  }
]

var authorityHostSetting = empty(azureAuthorityHost) ? [] : [
  {
    name: 'AZURE_AUTHORITY_HOST'
    value: azureAuthorityHost
  }
]

var clientSecretSetting = empty(graphClientSecretUri) ? [] : [
  {
    name: 'AZURE_CLIENT_SECRET'
    value: '@Microsoft.KeyVault(SecretUri=${graphClientSecretUri})'
  }
]

var routesSetting = empty(mailRoutes) ? [] : [
  {
    // The app reads MAIL_ROUTES as JSON text.
    name: 'MAIL_ROUTES'
    value: string(mailRoutes)
  }
]

var templatesDirSetting = empty(mailTemplatesDir) ? [] : [
  {
    name: 'MAIL_TEMPLATES_DIR'
    value: mailTemplatesDir
  }
]

var azureMonitorAudienceSetting = empty(azureMonitorWebhookAudience) ? [] : [
  {
    name: 'AZURE_MONITOR_WEBHOOK_AUDIENCE'
    value: azureMonitorWebhookAudience
  }
]

var hookBearerTokenSetting = empty(hookBearerTokenUri) ? [] : [
  {
    name: 'HOOK_BEARER_TOKEN'
    value: '@Microsoft.KeyVault(SecretUri=${hookBearerTokenUri})'
  }
]

var githubWebhookSecretSetting = empty(githubWebhookSecretUri) ? [] : [
  {
    name: 'GITHUB_WEBHOOK_SECRET'
    value: '@Microsoft.KeyVault(SecretUri=${githubWebhookSecretUri})'
  }
]

var grafanaWebhookSecretSetting = empty(grafanaWebhookSecretUri) ? [] : [
  {
    name: 'GRAFANA_WEBHOOK_SECRET'
    value: '@Microsoft.KeyVault(SecretUri=${grafanaWebhookSecretUri})'
  }
]

var pagerdutyWebhookSecretSetting = empty(pagerdutyWebhookSecretUri) ? [] : [
  {
    name: 'PAGERDUTY_WEBHOOK_SECRET'
    value: '@Microsoft.KeyVault(SecretUri=${pagerdutyWebhookSecretUri})'
  }
]

var sentryClientSecretSetting = empty(sentryClientSecretUri) ? [] : [
  {
    name: 'SENTRY_CLIENT_SECRET'
    value: '@Microsoft.KeyVault(SecretUri=${sentryClientSecretUri})'
  }
]

var grafanaTimestampHeaderSetting = empty(grafanaWebhookTimestampHeader) ? [] : [
  {
    name: 'GRAFANA_WEBHOOK_TIMESTAMP_HEADER'
    value: grafanaWebhookTimestampHeader
  }
]

// One line: pycep 0.5.1 does not parse function arguments over several lines.
var appSettings = concat(hostStorageSettings, monitoringSettings, mailSettings, deliverySettings, graphBaseUrlSetting, authorityHostSetting, clientSecretSetting, routesSetting, templatesDirSetting, azureMonitorAudienceSetting, hookBearerTokenSetting, githubWebhookSecretSetting, grafanaWebhookSecretSetting, pagerdutyWebhookSecretSetting, sentryClientSecretSetting, grafanaTimestampHeaderSetting)

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy on Flex Consumption is offered in a subset of regions only and needs ZRS storage; a mail bridge retried by its webhook senders does not need it by default
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
  }
}

// siteConfig holds no ftpsState, alwaysOn, linuxFxVersion, use32BitWorkerProcess
// or other property Flex Consumption rejects: ftpsState alone fails the deployment
// with ARM error 51021 (Microsoft Q&A 2277522, Azure/terraform-azurerm-avm-res-web-site#360).
// functionAppConfig carries the runtime and the scale settings instead. The list:
// learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations
// (tests/infra checks it).
resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_17: webhook senders do not present client certificates; requests are authorised by function keys
  // checkov:skip=CKV_AZURE_212: numberOfWorkers is a Dedicated-plan setting; Flex Consumption keeps instances warm with alwaysReadyInstanceCount (billed, 0 by default)
  // checkov:skip=CKV_AZURE_213: App Service health check is for Premium and Dedicated plans with a fixed instance pool; Flex Consumption scales per event down to zero
  // checkov:skip=CKV_AZURE_222: the app receives webhooks from the internet, so public network access must stay on
  // checkov:skip=CKV_AZURE_78: Flex Consumption has no FTP or FTPS publishing at all and rejects siteConfig.ftpsState (learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations); basic-auth publishing is also turned off below
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityResourceId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    // Key Vault references resolve with the user-assigned identity, not a system one.
    keyVaultReferenceIdentity: identityResourceId
    // Nothing Flex Consumption rejects here (see the comment above the resource).
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
      appSettings: appSettings
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
        alwaysReady: (alwaysReadyInstanceCount > 0) ? [
          {
            name: 'http'
            instanceCount: alwaysReadyInstanceCount
          }
        ] : []
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

// No basic-auth (publishing password) deployments: azd and the Functions tools
// deploy with an Entra token.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
