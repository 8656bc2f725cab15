// Only deployed when there is a secret to keep: the Graph client secret
// (graphAuth = 'clientSecret') or a caller-authentication secret for /api/hooks.
// Each secret is stored only when given and reaches the app as a Key Vault
// reference, so no secret value ever appears in the app settings. RBAC mode, no
// access policies: the identity gets Key Vault Secrets User on this vault, which
// holds nothing else.

param name string
param location string
param tags object

@description('Object (principal) ID of the function app\'s user-assigned identity.')
param principalId string

// Purge protection is off by default, on request. With it on, `azd down` leaves
// the vault soft-deleted and unpurgeable for softDeleteRetentionInDays, and the
// name (deterministic: kv-<resourceToken>) stays taken: the next `azd up` of the
// same environment fails until the retention ends. Without it, `azd down --purge`
// frees the name, and a vault deleted without --purge can still be recovered
// (`az keyvault recover`) or purged (`az keyvault purge`). Soft delete stays on
// either way, so a deleted vault and its secrets remain recoverable for 90 days.
// The vault holds copies of secrets whose source of truth is elsewhere (the app
// registration, the webhook senders), so losing it means re-entering them, not
// losing them. Turn protection on for a long-lived production environment:
// once on, Azure never lets it be turned off again
// (learn.microsoft.com/azure/key-vault/general/soft-delete-overview#purge-protection).
@description('Turn on purge protection (irreversible): a deleted vault then keeps its name for 90 days.')
param enablePurgeProtection bool = false

@secure()
@description('Client secret of the Entra app registration that sends mail (AZURE_CLIENT_SECRET); empty: not stored.')
param graphClientSecret string = ''

@secure()
@description('Bearer token /api/hooks/* callers must send (HOOK_BEARER_TOKEN); empty: not stored.')
param hookBearerToken string = ''

@secure()
@description('Shared secret of GitHub webhook signatures (GITHUB_WEBHOOK_SECRET); empty: not stored.')
param githubWebhookSecret string = ''

@secure()
@description('Shared secret of Grafana webhook signatures (GRAFANA_WEBHOOK_SECRET); empty: not stored.')
param grafanaWebhookSecret string = ''

@secure()
@description('Secret(s) of PagerDuty webhook signatures (PAGERDUTY_WEBHOOK_SECRET); empty: not stored.')
param pagerdutyWebhookSecret string = ''

@secure()
@description('Client secret of the Sentry integration (SENTRY_CLIENT_SECRET); empty: not stored.')
param sentryClientSecret string = ''

// Secret names in the vault. The outputs below are built from them and the vault
// URI, not from the secret resources, so no output depends on a secure parameter.
var secretNames = {
  graphClientSecret: 'graph-client-secret'
  hookBearerToken: 'hook-bearer-token'
  githubWebhookSecret: 'github-webhook-secret'
  grafanaWebhookSecret: 'grafana-webhook-secret'
  pagerdutyWebhookSecret: 'pagerduty-webhook-secret'
  sentryClientSecret: 'sentry-client-secret'
}

// Only the secrets given are stored. A loop, not four `if` resources: checkov
// 3.3.30 looks inside a `for` but not inside an `if`, so conditional resources
// would go unchecked.
var givenSecrets = filter([
  {
    name: secretNames.graphClientSecret
    value: graphClientSecret
  }
  {
    name: secretNames.hookBearerToken
    value: hookBearerToken
  }
  {
    name: secretNames.githubWebhookSecret
    value: githubWebhookSecret
  }
  {
    name: secretNames.grafanaWebhookSecret
    value: grafanaWebhookSecret
  }
  {
    name: secretNames.pagerdutyWebhookSecret
    value: pagerdutyWebhookSecret
  }
  {
    name: secretNames.sentryClientSecret
    value: sentryClientSecret
  }
], candidate => !empty(candidate.value))

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_110: purge protection is a parameter, off by default so `azd down --purge` then `azd up` works; see enablePurgeProtection above
  // checkov:skip=CKV_AZURE_42: soft delete stays on (deleted vaults and secrets recoverable for 90 days); only purge protection, which this check also requires, is a parameter that is off by default, see enablePurgeProtection above
  // checkov:skip=CKV_AZURE_109: App Service resolves Key Vault references over the public endpoint unless the app has VNet integration, which this template does not add; access is RBAC-only
  // checkov:skip=CKV_AZURE_189: same reason as CKV_AZURE_109, the app without VNet integration reaches the vault over its public endpoint
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // The property takes true or nothing: false is refused
    // (learn.microsoft.com/azure/templates/microsoft.keyvault/vaults), so "off" is null.
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource secrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for secret in givenSecrets: {
  // checkov:skip=CKV_AZURE_41: each secret's lifetime is set where it is shared (the Entra app registration, the webhook senders' settings); an expiry here would silently break Graph auth or start rejecting alerts, so rotate at the source and store a new version here
  parent: vault
  name: secret.name
  properties: {
    value: secret.value
    contentType: 'text/plain'
    attributes: {
      enabled: true
    }
  }
}]

// Key Vault Secrets User (built-in role, same ID in every tenant): read secret values.
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, keyVaultSecretsUserRoleId)
  scope: vault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
  }
}

output name string = vault.name
output resourceId string = vault.id
// Version-less secret URIs (vaultUri ends with '/'): the app follows the latest
// version after a rotation. main.bicep uses a URI only when its secret was given.
output graphClientSecretUri string = '${vault.properties.vaultUri}secrets/${secretNames.graphClientSecret}'
output hookBearerTokenUri string = '${vault.properties.vaultUri}secrets/${secretNames.hookBearerToken}'
output githubWebhookSecretUri string = '${vault.properties.vaultUri}secrets/${secretNames.githubWebhookSecret}'
output grafanaWebhookSecretUri string = '${vault.properties.vaultUri}secrets/${secretNames.grafanaWebhookSecret}'
output pagerdutyWebhookSecretUri string = '${vault.properties.vaultUri}secrets/${secretNames.pagerdutyWebhookSecret}'
output sentryClientSecretUri string = '${vault.properties.vaultUri}secrets/${secretNames.sentryClientSecret}'
