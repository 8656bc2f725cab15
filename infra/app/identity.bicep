// The one user-assigned managed identity the function app uses for everything:
// host and deployment storage, Application Insights, Key Vault references and
// Microsoft Graph tokens (AZURE_CLIENT_ID). A user-assigned identity outlives the
// app, so the Mail.Send grant and the Exchange scope survive a redeploy.

@description('Name of the user-assigned managed identity.')
param name string

param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output resourceId string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
