// Log Analytics workspace and workspace-based Application Insights. Local
// (instrumentation key) auth is off on both: the function app sends telemetry
// with its managed identity (Monitoring Metrics Publisher, see rbac.bicep).

param logAnalyticsName string
param applicationInsightsName string
param location string
param tags object

@description('Days Log Analytics keeps logs. 30 is the free retention.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    retentionInDays: retentionInDays
    sku: {
      name: 'PerGB2018'
    }
    features: {
      disableLocalAuth: true
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    DisableLocalAuth: true
    WorkspaceResourceId: logAnalytics.id
  }
}

output applicationInsightsName string = applicationInsights.name
output applicationInsightsResourceId string = applicationInsights.id
// Not a secret: with local auth disabled the connection string only says where
// to send telemetry; writing needs an Entra token.
output applicationInsightsConnectionString string = applicationInsights.properties.ConnectionString
