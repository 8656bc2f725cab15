// The roles the function app's identity needs on storage and Application Insights,
// on the narrowest scope that works. (Key Vault Secrets User is granted in
// keyvault.bicep, which is only deployed for client-secret auth.)
// Built-in role definition IDs are the same in every tenant and cloud:
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
// Names are guid(scope, principal, role): deterministic, so a redeploy updates
// the same assignment instead of failing with RoleAssignmentExists.

param storageAccountName string
param applicationInsightsName string

@description('Object (principal) ID of the function app\'s user-assigned identity.')
param principalId string

var roleIds = {
  // Host storage: leases, secrets and the deployment package (blobs), triggers (queues), idempotency (tables).
  // Queue mode (issue 5) needs nothing more: Queue Data Contributor covers send, receive,
  // update and delete of messages and the queue trigger (a superset of Message Processor);
  // Table Data Contributor the idempotency table; Blob Data Owner the claim-check bodies.
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  // Application Insights with local auth disabled accepts telemetry only from this role.
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

var storageRoleIds = [
  roleIds.storageBlobDataOwner
  roleIds.storageQueueDataContributor
  roleIds.storageTableDataContributor
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource storageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in storageRoleIds: {
  name: guid(storage.id, principalId, roleId)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
  }
}]

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, principalId, roleIds.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.monitoringMetricsPublisher)
  }
}
