package mint

import (
	"encoding/json"
	"math"
	"net/http"
	"time"
)

// Usage is what Meta's rate-limit headers report about a response: how much
// of the app's and the business's call budgets is used, and how long to wait
// when a budget is exhausted. See
// https://developers.facebook.com/docs/graph-api/overview/rate-limiting/.
// The zero value means the headers were absent.
type Usage struct {
	// App is X-App-Usage: percentages of the app's platform rate limit.
	App AppUsage
	// BusinessUseCase is X-Business-Use-Case-Usage: per business object ID,
	// the percentages used of each business use case limit.
	BusinessUseCase map[string][]BusinessUseCaseUsage
	// AdAccount is X-Ad-Account-Usage: the ad account's utilization, sent on
	// Marketing API calls about one ad account.
	AdAccount AdAccountUsage
	// RegainAccessIn is the longest wait the headers ask for: the largest
	// estimated_time_to_regain_access, or X-Ad-Account-Usage's
	// reset_time_duration.
	RegainAccessIn time.Duration
}

// AdAccountUsage is the body of the X-Ad-Account-Usage header.
type AdAccountUsage struct {
	// UtilPercent is acc_id_util_pct, the percentage of the ad account's
	// limit used, rounded up.
	UtilPercent int
	// ResetIn is reset_time_duration: when the usage resets, in seconds as
	// Meta sends it.
	ResetIn time.Duration
	// AccessTier is ads_api_access_tier, such as "standard_access".
	AccessTier string
}

// AppUsage is the body of the X-App-Usage header (percentages, 0-100).
type AppUsage struct {
	CallCount    int `json:"call_count"`
	TotalCPUTime int `json:"total_cputime"`
	TotalTime    int `json:"total_time"`
}

// BusinessUseCaseUsage is one entry of the X-Business-Use-Case-Usage header.
type BusinessUseCaseUsage struct {
	Type         string `json:"type"`
	CallCount    int    `json:"call_count"`
	TotalCPUTime int    `json:"total_cputime"`
	TotalTime    int    `json:"total_time"`
	// EstimatedTimeToRegainAccess is in minutes, as Meta sends it.
	EstimatedTimeToRegainAccess int `json:"estimated_time_to_regain_access"`
}

// Percent returns the highest percentage any reported limit has reached.
func (u Usage) Percent() int {
	p := max(u.App.CallCount, u.App.TotalCPUTime, u.App.TotalTime, u.AdAccount.UtilPercent)
	for _, entries := range u.BusinessUseCase {
		for _, b := range entries {
			p = max(p, b.CallCount, b.TotalCPUTime, b.TotalTime)
		}
	}
	return p
}

// maxRegain caps estimated_time_to_regain_access: Meta's values are minutes
// and a hostile header must not overflow a time.Duration.
const maxRegain = 24 * time.Hour

// ParseUsage reads X-App-Usage, X-Business-Use-Case-Usage and
// X-Ad-Account-Usage from h. Numbers may carry fractions (Meta sends
// acc_id_util_pct as 9.67, say); a percentage is rounded up and clamped to
// 0-1000. Malformed headers are ignored: usage is advisory and must never
// turn a good response into a failure.
func ParseUsage(h http.Header) Usage {
	var u Usage
	if v := h.Get("X-App-Usage"); v != "" {
		var a struct {
			CallCount    usageNumber `json:"call_count"`
			TotalCPUTime usageNumber `json:"total_cputime"`
			TotalTime    usageNumber `json:"total_time"`
		}
		if json.Unmarshal([]byte(v), &a) == nil {
			u.App = AppUsage{CallCount: a.CallCount.percent(), TotalCPUTime: a.TotalCPUTime.percent(), TotalTime: a.TotalTime.percent()}
		}
	}
	if v := h.Get("X-Business-Use-Case-Usage"); v != "" {
		var buc map[string][]struct {
			Type          string      `json:"type"`
			CallCount     usageNumber `json:"call_count"`
			TotalCPUTime  usageNumber `json:"total_cputime"`
			TotalTime     usageNumber `json:"total_time"`
			RegainMinutes usageNumber `json:"estimated_time_to_regain_access"`
		}
		if json.Unmarshal([]byte(v), &buc) == nil && len(buc) > 0 {
			u.BusinessUseCase = make(map[string][]BusinessUseCaseUsage, len(buc))
			for id, entries := range buc {
				for _, b := range entries {
					regain := b.RegainMinutes.duration(time.Minute)
					u.BusinessUseCase[id] = append(u.BusinessUseCase[id], BusinessUseCaseUsage{
						Type:                        b.Type,
						CallCount:                   b.CallCount.percent(),
						TotalCPUTime:                b.TotalCPUTime.percent(),
						TotalTime:                   b.TotalTime.percent(),
						EstimatedTimeToRegainAccess: int(regain / time.Minute),
					})
					u.RegainAccessIn = max(u.RegainAccessIn, regain)
				}
			}
		}
	}
	if v := h.Get("X-Ad-Account-Usage"); v != "" {
		var a struct {
			Util  usageNumber `json:"acc_id_util_pct"`
			Reset usageNumber `json:"reset_time_duration"`
			Tier  string      `json:"ads_api_access_tier"`
		}
		if json.Unmarshal([]byte(v), &a) == nil {
			u.AdAccount = AdAccountUsage{UtilPercent: a.Util.percent(), ResetIn: a.Reset.duration(time.Second), AccessTier: a.Tier}
			if u.AdAccount.UtilPercent >= 100 {
				u.RegainAccessIn = max(u.RegainAccessIn, u.AdAccount.ResetIn)
			}
		}
	}
	return u
}

// usageNumber is a number in a usage header: an integer, a fraction, or
// either one quoted.
type usageNumber float64

func (n *usageNumber) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return err
		}
		if s == "" {
			*n = 0
			return nil
		}
		if err := json.Unmarshal([]byte(s), &f); err != nil {
			return err
		}
	}
	*n = usageNumber(f)
	return nil
}

// percent rounds n up to a whole percentage in 0-1000.
func (n usageNumber) percent() int {
	return int(math.Ceil(min(max(float64(n), 0), 1000)))
}

// duration is n units, rounded up, within 0-maxRegain.
func (n usageNumber) duration(unit time.Duration) time.Duration {
	f := min(max(float64(n), 0), float64(maxRegain/unit))
	return time.Duration(math.Ceil(f)) * unit
}
