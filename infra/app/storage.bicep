// Host storage for the function app (AzureWebJobsStorage) and the container
// Flex Consumption deploys the app package from. Identity only: shared keys are
// off, so neither the host nor the deployment ever holds a connection string.

@description('Storage account name: 3-24 lowercase letters and digits.')
@minLength(3)
@maxLength(24)
param name string

param location string
param tags object

@description('Blob container that holds the app package Flex Consumption runs from.')
param deploymentContainerName string

@description('Queue the mail queue trigger will read (issue: queue delivery). Created now so the name is fixed.')
param mailQueueName string = 'outbound-mail'

@description('Replication. ZRS survives a zone outage where the region offers it.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
])
param skuName string = 'Standard_LRS'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: the app has no VNet integration, so the host reaches its storage over the public endpoint; every request needs an Entra token (shared keys off)
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35, public endpoint on purpose, Entra-only access
  // checkov:skip=CKV_AZURE_206: geo-replication does not help an app that runs in one region; the account holds host leases, the app package and queued mail, and skuName offers ZRS against zone loss
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    dnsEndpointType: 'Standard'
    isLocalUserEnabled: false
    isSftpEnabled: false
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    supportsHttpsTrafficOnly: true
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Queue and table services: the queue trigger and the idempotency table of later
// issues use the same account through the same identity-based connection.
resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource mailQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: mailQueueName
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

output name string = storage.name
output resourceId string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
output mailQueueName string = mailQueue.name
