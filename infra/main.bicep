// Mailhook on Azure Functions Flex Consumption: `azd up` (or
// `az deployment sub create`) creates the resource group and everything in it.
// Graph permission (Mail.Send) is granted afterwards by
// infra/scripts/grant-mail-send.sh: Bicep cannot grant it.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; it names the resource group and seeds the resource names.')
param environmentName string

@minLength(1)
@description('Azure region for every resource; it must offer Flex Consumption.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

// ---- What the bridge sends and to whom (app settings of the same names) ----

@description('MAIL_SENDER: mailbox the bridge sends as (user or shared mailbox in Exchange Online).')
param mailSender string

@description('MAIL_ALLOWED_SENDERS: comma list of other mailboxes routes may send as.')
param mailAllowedSenders string = ''

@description('MAIL_ALLOWED_FROM: comma list of distribution lists, groups or shared mailboxes a message may be from, sent through MAIL_SENDER (or its sender) holding SendAs or SendOnBehalf.')
param mailAllowedFrom string = ''

@description('MAIL_DEFAULT_TO: comma list of recipients when a request names none.')
param mailDefaultTo string = ''

@description('MAIL_ALLOWED_RECIPIENT_DOMAINS: comma list of domains mail may go to.')
param mailAllowedRecipientDomains string = ''

@description('MAIL_TRANSPORT: graph sends mail; outbox only writes files to /tmp (smoke tests).')
@allowed([
  'graph'
  'outbox'
])
param mailTransport string = 'graph'

@description('MAIL_MESSAGE_FORMAT: mime sends webhook mail with a text part, Auto-Submitted and threading headers; json keeps Graph\'s JSON form; empty is mime.')
@allowed([
  ''
  'mime'
  'json'
])
param mailMessageFormat string = ''

@description('MAIL_THREAD_BY_DATE: none threads a route\'s alert group for ever; daily starts a new thread each UTC day.')
@allowed([
  'none'
  'daily'
])
param mailThreadByDate string = 'none'

@description('MAIL_SEND_DEADLINE_S: seconds the app may spend sending one message.')
@minValue(1)
@maxValue(230)
param mailSendDeadlineSeconds int = 25

@description('MAIL_SEND_METHOD: sendmail (one request; a lost answer stays unknown) or draft (a draft, then /send; a lost answer is resolved by asking Graph, and needs Mail.ReadWrite).')
@allowed([
  'sendmail'
  'draft'
])
param mailSendMethod string = 'sendmail'

// ---- Delivery and duplicate suppression (issue 5) ----
// The queues, the claim-check container and the idempotency table are created in
// both modes, so switching MAIL_DELIVERY needs no new resources.

@description('MAIL_DELIVERY: direct sends from the HTTP function; queue enqueues, answers 202 and a queue-triggered function sends.')
@allowed([
  'direct'
  'queue'
])
param mailDelivery string = 'direct'

@description('MAIL_QUEUE_NAME: the outbound queue; <name>-poison and the <name>-bodies blob container are derived from it. At most 56 characters so the derived names stay within 63.')
@minLength(3)
@maxLength(56)
param mailQueueName string = 'outbound-mail'

@description('MAIL_IDEMPOTENCY_TTL_S: seconds a notification\'s idempotency key is remembered.')
@minValue(1)
@maxValue(604800)
param mailIdempotencyTtlSeconds int = 86400

@description('MAIL_REPEATING_DEDUP_TTL_S: seconds an Alertmanager/Grafana group-state key is remembered; must not exceed mailIdempotencyTtlSeconds (the app refuses to start otherwise).')
@minValue(1)
@maxValue(604800)
param mailRepeatingDedupTtlSeconds int = 900

@description('MAIL_RATE_LIMIT_PER_MINUTE: requests per caller and instance per minute before 429; 0 turns the limit off.')
@minValue(0)
@maxValue(100000)
param mailRateLimitPerMinute int = 300

@description('MAIL_RATE_LIMIT_BURST: requests a caller may send at once before the per-minute rate applies.')
@minValue(1)
@maxValue(100000)
param mailRateLimitBurst int = 100

@description('MAIL_DAILY_RECIPIENT_BUDGET: recipients per sender mailbox per rolling 24 hours, every instance together; Exchange stops at 10,000.')
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

// ---- Microsoft Graph ----

@description('GRAPH_CLOUD: national cloud of the Microsoft 365 tenant.')
@allowed([
  'global'
  'usgov'
  'usgovdod'
  'china'
])
param graphCloud string = 'global'

@description('GRAPH_BASE_URL override; leave empty.')
param graphBaseUrl string = ''

@description('AZURE_AUTHORITY_HOST override; leave empty.')
param azureAuthorityHost string = ''

@description('How the app gets Graph tokens: its managed identity (no secret), or an app registration and client secret kept in Key Vault.')
@allowed([
  'managedIdentity'
  'clientSecret'
])
param graphAuth string = 'managedIdentity'

@description('Tenant of the Microsoft 365 mailboxes; empty means the subscription\'s tenant. Managed identities only get tokens in their own tenant.')
param graphTenantId string = ''

@description('clientSecret only: client (application) ID of the app registration.')
param graphClientId string = ''

@secure()
@description('clientSecret only: the app registration\'s client secret. It goes to Key Vault, never to app settings.')
param graphClientSecret string = ''

// ---- Webhooks: routes, templates and caller authentication on /api/hooks/* ----

@description('MAIL_ROUTES: the routes object (route name -> recipients, sender, format...); empty: one default route to MAIL_DEFAULT_TO.')
param mailRoutes object = {}

@description('MAIL_TEMPLATES_DIR: folder of Jinja2 templates deployed with the app that replace the built-in ones; empty: built-in templates.')
param mailTemplatesDir string = ''

@description('AZURE_MONITOR_WEBHOOK_AUDIENCE: aud values (comma list: client id, Application ID URI) of the Entra token Azure Monitor secure webhooks send; empty: no token required.')
param azureMonitorWebhookAudience string = ''

// The three secrets below go to Key Vault, never to app settings. Empty (the
// default, so azd and `az deployment` need no value): that check is off.

@secure()
@description('HOOK_BEARER_TOKEN: bearer token every /api/hooks/* caller must send.')
param hookBearerToken string = ''

@secure()
@description('GITHUB_WEBHOOK_SECRET: secret of GitHub\'s webhook signatures (X-Hub-Signature-256).')
param githubWebhookSecret string = ''

@secure()
@description('GRAFANA_WEBHOOK_SECRET: secret of Grafana\'s webhook signatures.')
param grafanaWebhookSecret string = ''

@secure()
@description('PAGERDUTY_WEBHOOK_SECRET: secret(s) of PagerDuty\'s v3 webhook signatures (X-PagerDuty-Signature), comma-separated.')
param pagerdutyWebhookSecret string = ''

@secure()
@description('SENTRY_CLIENT_SECRET: client secret of the Sentry internal integration (Sentry-Hook-Signature).')
param sentryClientSecret string = ''

@description('GRAFANA_WEBHOOK_TIMESTAMP_HEADER: the "Timestamp Header" named in Grafana\'s contact point; empty: Grafana signs the body alone.')
param grafanaWebhookTimestampHeader string = ''

@description('Key Vault purge protection (irreversible once on). Off: `azd down --purge` frees the vault name for the next `azd up`. On: a deleted vault keeps its name for 90 days. See app/keyvault.bicep.')
param keyVaultPurgeProtection bool = false

// ---- Scale ----

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

@description('Always-ready (billed) instances for HTTP triggers; 0 scales to zero and accepts cold starts.')
@minValue(0)
@maxValue(20)
param alwaysReadyInstanceCount int = 0

@description('Host storage replication.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
])
param storageSkuName string = 'Standard_LRS'

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}${resourceToken}'
// Flex deploys the app package from this container; the name must stay within 63 characters.
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
var useClientSecret = graphAuth == 'clientSecret'
var hasHookBearerToken = !empty(hookBearerToken)
var hasGithubWebhookSecret = !empty(githubWebhookSecret)
var hasGrafanaWebhookSecret = !empty(grafanaWebhookSecret)
var hasPagerdutyWebhookSecret = !empty(pagerdutyWebhookSecret)
var hasSentryClientSecret = !empty(sentryClientSecret)
// The vault exists only when there is a secret to keep in it.
var useKeyVault = useClientSecret || hasHookBearerToken || hasGithubWebhookSecret || hasGrafanaWebhookSecret || hasPagerdutyWebhookSecret || hasSentryClientSecret
var keyVaultName = '${abbrs.keyVaultVaults}${resourceToken}'
var tenantIdForGraph = empty(graphTenantId) ? tenant().tenantId : graphTenantId

resource resourceGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: resourceGroup
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: resourceGroup
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    mailQueueName: mailQueueName
    skuName: storageSkuName
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: resourceGroup
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: resourceGroup
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    principalId: identity.outputs.principalId
  }
}

module keyVault 'app/keyvault.bicep' = if (useKeyVault) {
  name: 'keyvault'
  scope: resourceGroup
  params: {
    name: keyVaultName
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    enablePurgeProtection: keyVaultPurgeProtection
    // Secure parameters go here and nowhere else; the app gets Key Vault references.
    graphClientSecret: useClientSecret ? graphClientSecret : ''
    hookBearerToken: hookBearerToken
    githubWebhookSecret: githubWebhookSecret
    grafanaWebhookSecret: grafanaWebhookSecret
    pagerdutyWebhookSecret: pagerdutyWebhookSecret
    sentryClientSecret: sentryClientSecret
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: resourceGroup
  // The host starts as soon as the app exists: let its storage and telemetry roles come first.
  dependsOn: [
    rbac
    keyVault
  ]
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityResourceId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    alwaysReadyInstanceCount: alwaysReadyInstanceCount
    mailTransport: mailTransport
    mailMessageFormat: mailMessageFormat
    mailThreadByDate: mailThreadByDate
    mailSender: mailSender
    mailAllowedSenders: mailAllowedSenders
    mailAllowedFrom: mailAllowedFrom
    mailDefaultTo: mailDefaultTo
    mailAllowedRecipientDomains: mailAllowedRecipientDomains
    mailSendDeadlineSeconds: mailSendDeadlineSeconds
    mailSendMethod: mailSendMethod
    mailDelivery: mailDelivery
    // The name of the queue storage.bicep created, so the app setting and the queue cannot differ.
    mailQueueName: storage.outputs.mailQueueName
    mailIdempotencyTtlSeconds: mailIdempotencyTtlSeconds
    mailRepeatingDedupTtlSeconds: mailRepeatingDedupTtlSeconds
    mailRateLimitPerMinute: mailRateLimitPerMinute
    mailRateLimitBurst: mailRateLimitBurst
    mailDailyRecipientBudget: mailDailyRecipientBudget
    mailDigestReserve: mailDigestReserve
    mailMailboxMessagesPerMinute: mailMailboxMessagesPerMinute
    mailDigestWindowSeconds: mailDigestWindowSeconds
    graphCloud: graphCloud
    graphBaseUrl: graphBaseUrl
    azureAuthorityHost: azureAuthorityHost
    graphTenantId: tenantIdForGraph
    graphClientId: useClientSecret ? graphClientId : identity.outputs.clientId
    graphClientSecretUri: useClientSecret ? keyVault.outputs.graphClientSecretUri : ''
    mailRoutes: mailRoutes
    mailTemplatesDir: mailTemplatesDir
    azureMonitorWebhookAudience: azureMonitorWebhookAudience
    hookBearerTokenUri: hasHookBearerToken ? keyVault.outputs.hookBearerTokenUri : ''
    githubWebhookSecretUri: hasGithubWebhookSecret ? keyVault.outputs.githubWebhookSecretUri : ''
    grafanaWebhookSecretUri: hasGrafanaWebhookSecret ? keyVault.outputs.grafanaWebhookSecretUri : ''
    pagerdutyWebhookSecretUri: hasPagerdutyWebhookSecret ? keyVault.outputs.pagerdutyWebhookSecretUri : ''
    sentryClientSecretUri: hasSentryClientSecret ? keyVault.outputs.sentryClientSecretUri : ''
    grafanaWebhookTimestampHeader: grafanaWebhookTimestampHeader
  }
}

// azd stores these in .azure/<env>/.env; the README and the grant script read them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = resourceGroup.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output FUNCTION_BASE_URL string = 'https://${api.outputs.defaultHostName}'
output MANAGED_IDENTITY_NAME string = identity.outputs.name
output MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output GRAPH_AUTH string = graphAuth
output GRAPH_CLOUD string = graphCloud
output KEY_VAULT_NAME string = useKeyVault ? keyVaultName : ''
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.applicationInsightsConnectionString
