// An Azure Monitor action group that mails every alert through Mailhook.
//
// Its webhook receiver posts the common alert schema to POST /api/hooks/azure-monitor, which turns
// it into a mail to the recipients of one MAIL_ROUTES route (examples/routes.json, route 'azure').
// Deploy it next to the resources it watches, with a function key made for Azure Monitor alone:
//
//   key=$(az functionapp keys set -g <app resource group> -n <function app> \
//     --key-type functionKeys --key-name azure-monitor --query value -o tsv)
//   az deployment group create -g <alerts resource group> -f infra/examples/action-group.bicep \
//     -p functionBaseUrl="$(azd env get-value FUNCTION_BASE_URL)" functionKey="$key"
//
// An action group cannot send headers of its own, so the key travels in the URL (?code=) and is
// stored in the action group, readable by anyone who can read it: that is why it gets its own key,
// which `az functionapp keys delete --key-name azure-monitor` revokes without touching the others.

targetScope = 'resourceGroup'

@description('The function app\'s base URL, without /api: azd env get-value FUNCTION_BASE_URL.')
param functionBaseUrl string

@secure()
@description('A function key used by Azure Monitor alone (az functionapp keys set --key-name azure-monitor).')
param functionKey string

@description('The MAIL_ROUTES route whose recipients get these alerts.')
param mailRoute string = 'azure'

@description('Name of the action group.')
param actionGroupName string = 'ag-mailhook'

// Shown in SMS and push notifications; Azure allows at most 12 characters.
@maxLength(12)
param groupShortName string = 'mailhook'

param tags object = {}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'global' // action groups are global resources
  tags: tags
  properties: {
    groupShortName: groupShortName
    enabled: true
    webhookReceivers: [
      {
        name: 'mailhook'
        // uriComponent: a key may hold '+', '/' or '=', which a query string would change.
        serviceUri: '${functionBaseUrl}/api/hooks/azure-monitor?route=${mailRoute}&code=${uriComponent(functionKey)}'
        // The one schema for metric, log search, activity log, service and resource health alerts.
        useCommonAlertSchema: true
        useAadAuth: false
      }
    ]
  }
}

output actionGroupId string = actionGroup.id
