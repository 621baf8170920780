package minttest

// knownScopes are the permissions a system user token can be minted with: the
// union of the list on Meta's "Install Apps, Generate, Refresh, and Revoke
// Tokens" page, its capability-gated scopes, and the older page's list.
var knownScopes = []string{
	"ads_management",
	"ads_read",
	"attribution_read",
	"business_creative_insights",
	"business_creative_insights_share",
	"business_creative_management",
	"business_data_management",
	"business_management",
	"catalog_management",
	"commerce_account_manage_orders",
	"commerce_account_read_orders",
	"commerce_account_read_reports",
	"commerce_account_read_settings",
	"commerce_manage_accounts",
	"instagram_basic",
	"instagram_branded_content_ads_brand",
	"instagram_branded_content_brand",
	"instagram_content_publish",
	"instagram_manage_comments",
	"instagram_manage_insights",
	"instagram_manage_messages",
	"instagram_shopping_tag_products",
	"leads_retrieval",
	"manage_notifications",
	"page_events",
	"pages_manage_ads",
	"pages_manage_cta",
	"pages_manage_engagement",
	"pages_manage_instant_articles",
	"pages_manage_metadata",
	"pages_manage_posts",
	"pages_messaging",
	"pages_read_engagement",
	"pages_read_user_content",
	"pages_show_list",
	"private_computation_access",
	"publish_video",
	"read_audience_network_insights",
	"read_insights",
	"read_page_mailboxes",
	"rsvp_event",
	"whatsapp_business_management",
	"whatsapp_business_messaging",
}

// knownScopeSet returns the known scopes plus extra as a set.
func knownScopeSet(extra []string) map[string]bool {
	set := make(map[string]bool, len(knownScopes)+len(extra))
	for _, s := range knownScopes {
		set[s] = true
	}
	for _, s := range extra {
		set[s] = true
	}
	return set
}
