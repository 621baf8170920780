package mint

import (
	"encoding/json"
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
	// RegainAccessIn is the longest estimated_time_to_regain_access found.
	RegainAccessIn time.Duration
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
	p := max(u.App.CallCount, u.App.TotalCPUTime, u.App.TotalTime)
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

// ParseUsage reads X-App-Usage and X-Business-Use-Case-Usage from h.
// Malformed headers are ignored: usage is advisory and must never turn a
// good response into a failure.
func ParseUsage(h http.Header) Usage {
	var u Usage
	if v := h.Get("X-App-Usage"); v != "" {
		var a AppUsage
		if json.Unmarshal([]byte(v), &a) == nil {
			u.App = a
		}
	}
	if v := h.Get("X-Business-Use-Case-Usage"); v != "" {
		var buc map[string][]BusinessUseCaseUsage
		if json.Unmarshal([]byte(v), &buc) == nil && len(buc) > 0 {
			u.BusinessUseCase = buc
			for _, entries := range buc {
				for _, b := range entries {
					m := min(max(b.EstimatedTimeToRegainAccess, 0), int(maxRegain/time.Minute))
					u.RegainAccessIn = max(u.RegainAccessIn, time.Duration(m)*time.Minute)
				}
			}
		}
	}
	return u
}
