// Only deployed when client-secret auth is chosen (graphAuth = 'clientSecret').
// The secret lives here and reaches the app as a Key Vault reference, so it never
// appears in the app settings. RBAC mode, no access policies: the identity gets
// Key Vault Secrets User on this vault, which holds nothing else.

param name string
param location string
param tags object

@description('Name of the secret that holds the app registration\'s client secret.')
param secretName string = 'graph-client-secret'

@description('Object (principal) ID of the function app\'s user-assigned identity.')
param principalId string

@secure()
@description('Client secret of the Entra app registration that sends mail.')
param clientSecret string

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

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  // checkov:skip=CKV_AZURE_41: the client secret's lifetime is set where it is created (the app registration in Entra ID); rotate it there and store a new version here
  parent: vault
  name: secretName
  properties: {
    value: clientSecret
    contentType: 'text/plain'
    attributes: {
      enabled: true
    }
  }
}

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
// Version-less URI: the app follows the latest version after a rotation.
output secretUri string = secret.properties.secretUri
