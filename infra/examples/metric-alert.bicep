// An example metric alert that mails through Mailhook: a virtual machine's CPU above a threshold.
//
// It deploys the action group of action-group.bicep and points the alert at it, so the mail reads
// "[Fired] Sev2 high-cpu-<vm> on <vm>" and a second one "[Resolved] ..." when the CPU comes back down.
//
//   az deployment group create -g <the VM's resource group> -f infra/examples/metric-alert.bicep \
//     -p vmName=<vm> functionBaseUrl="$(azd env get-value FUNCTION_BASE_URL)" functionKey="$key"

targetScope = 'resourceGroup'

@description('The virtual machine to watch, in this resource group.')
param vmName string

@description('The function app\'s base URL, without /api: azd env get-value FUNCTION_BASE_URL.')
param functionBaseUrl string

@secure()
@description('A function key used by Azure Monitor alone (see action-group.bicep).')
param functionKey string

@description('Average CPU percentage above which the alert fires.')
@minValue(1)
@maxValue(100)
param cpuThresholdPercent int = 80

resource vm 'Microsoft.Compute/virtualMachines@2024-07-01' existing = {
  name: vmName
}

module mailhook 'action-group.bicep' = {
  name: 'mailhook-action-group'
  params: {
    functionBaseUrl: functionBaseUrl
    functionKey: functionKey
  }
}

resource highCpu 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'high-cpu-${vmName}'
  location: 'global'
  properties: {
    description: 'Average CPU above ${cpuThresholdPercent}% over 15 minutes.'
    severity: 2
    enabled: true
    scopes: [
      vm.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    // Resolve the alert by itself when the CPU comes back down, which sends the "Resolved" mail.
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'HighCpu'
          metricNamespace: 'Microsoft.Compute/virtualMachines'
          metricName: 'Percentage CPU'
          operator: 'GreaterThan'
          threshold: cpuThresholdPercent
          timeAggregation: 'Average'
        }
      ]
    }
    actions: [
      {
        actionGroupId: mailhook.outputs.actionGroupId
      }
    ]
  }
}

output metricAlertId string = highCpu.id
