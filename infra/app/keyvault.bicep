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

// Secret names in the vault. The outputs below are built from them and the vault
// URI, not from the secret resources, so no output depends on a secure parameter.
var secretNames = {
  graphClientSecret: 'graph-client-secret'
  hookBearerToken: 'hook-bearer-token'
  githubWebhookSecret: 'github-webhook-secret'
  grafanaWebhookSecret: 'grafana-webhook-secret'
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
], candidate => !empty(candidate.value))

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
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
    enablePurgeProtection: true
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
