// Host storage for the function app (AzureWebJobsStorage), the container Flex
// Consumption deploys the app package from, and what the app keeps there itself
// (issue 5): the outbound mail queue, its poison queue, the claim-check container
// for bodies too large for a queue message, and the idempotency table. Identity
// only: shared keys are off, so neither the host nor the deployment nor the app
// ever holds a connection string.

@description('Storage account name: 3-24 lowercase letters and digits.')
@minLength(3)
@maxLength(24)
param name string

param location string
param tags object

@description('Blob container that holds the app package Flex Consumption runs from.')
param deploymentContainerName string

@description('MAIL_QUEUE_NAME: the outbound queue the queue trigger reads. The poison queue and the claim-check container take its name plus a suffix, so at most 56 characters.')
@minLength(3)
@maxLength(56)
param mailQueueName string = 'outbound-mail'

@description('Replication. ZRS survives a zone outage where the region offers it.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
])
param skuName string = 'Standard_LRS'

// Names the app derives from MAIL_QUEUE_NAME (shared/transports/queue.py) and its
// fixed table name (shared/idempotency/table.py).
// The Functions host moves a message here after maxDequeueCount failed attempts; the app moves refused mail here too.
var mailPoisonQueueName = '${mailQueueName}-poison'
// Claim check: Graph requests too large for a 64 KB queue message.
var mailBodiesContainerName = '${mailQueueName}-bodies'
var idempotencyTableName = 'mailhookidempotency'
// Mailbox-wide limits and storm digests (shared/delivery/mailbox, shared/delivery/digests): fixed names.
var mailboxesTableName = 'mailhookmailboxes'
var heldTableName = 'mailhookheld'
var heldBodiesContainerName = 'mailhook-held'
var digestQueueName = 'mailhook-digests'

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

resource mailBodiesContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: mailBodiesContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Queue mode and idempotency use the same account through the same identity-based
// AzureWebJobsStorage connection. All of it exists in direct mode too: the queue
// trigger's binding names the queue either way, and idempotency keys are kept in
// both modes, so switching MAIL_DELIVERY needs no new resources.
resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource mailQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: mailQueueName
}

resource mailPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: mailPoisonQueueName
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource idempotencyTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: idempotencyTableName
}

// Each sender mailbox's recipient budget, pace and send slots, shared by every instance.
resource mailboxesTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: mailboxesTableName
}

// Notifications held for a storm digest, their bodies when large, and the digest flush queue.
resource heldTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: heldTableName
}

resource heldBodiesContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: heldBodiesContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource digestQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: digestQueueName
}

resource digestPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: 'mailhook-digests-poison'
}

output name string = storage.name
output resourceId string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
output mailQueueName string = mailQueue.name
output mailPoisonQueueName string = mailPoisonQueue.name
output mailBodiesContainerName string = mailBodiesContainer.name
output idempotencyTableName string = idempotencyTable.name
