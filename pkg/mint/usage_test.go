package mint

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header http.Header
		want   Usage
	}{
		{
			name:   "app usage with fractions",
			header: http.Header{"X-App-Usage": {`{"call_count":28.5,"total_time":25,"total_cputime":"9.1"}`}},
			want:   Usage{App: AppUsage{CallCount: 29, TotalTime: 25, TotalCPUTime: 10}},
		},
		{
			name:   "business use case with a fractional regain estimate",
			header: http.Header{"X-Business-Use-Case-Usage": {`{"123":[{"type":"ads_management","call_count":100,"total_cputime":12.5,"total_time":3,"estimated_time_to_regain_access":1.5}]}`}},
			want: Usage{
				BusinessUseCase: map[string][]BusinessUseCaseUsage{"123": {{Type: "ads_management", CallCount: 100, TotalCPUTime: 13, TotalTime: 3, EstimatedTimeToRegainAccess: 2}}},
				RegainAccessIn:  2 * time.Minute,
			},
		},
		{
			name:   "ad account usage below the limit",
			header: http.Header{"X-Ad-Account-Usage": {`{"acc_id_util_pct":9.67,"reset_time_duration":0,"ads_api_access_tier":"standard_access"}`}},
			want:   Usage{AdAccount: AdAccountUsage{UtilPercent: 10, AccessTier: "standard_access"}},
		},
		{
			name:   "ad account usage at the limit asks for its reset",
			header: http.Header{"X-Ad-Account-Usage": {`{"acc_id_util_pct":100,"reset_time_duration":90,"ads_api_access_tier":"development_access"}`}},
			want:   Usage{AdAccount: AdAccountUsage{UtilPercent: 100, ResetIn: 90 * time.Second, AccessTier: "development_access"}, RegainAccessIn: 90 * time.Second},
		},
		{
			name:   "hostile values are clamped",
			header: http.Header{"X-Business-Use-Case-Usage": {`{"1":[{"call_count":-5,"estimated_time_to_regain_access":1e300}]}`}},
			want: Usage{
				BusinessUseCase: map[string][]BusinessUseCaseUsage{"1": {{EstimatedTimeToRegainAccess: int(maxRegain / time.Minute)}}},
				RegainAccessIn:  maxRegain,
			},
		},
		{
			name:   "malformed headers are ignored",
			header: http.Header{"X-App-Usage": {`{"call_count":`}, "X-Ad-Account-Usage": {`[]`}},
			want:   Usage{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ParseUsage(tt.header)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseUsage(%v) mismatch (-want +got):\n%s", tt.header, diff)
			}
		})
	}
	if p := ParseUsage(http.Header{"X-Ad-Account-Usage": {`{"acc_id_util_pct":80.2}`}}).Percent(); p != 81 {
		t.Errorf("ParseUsage(ad account 80.2%%).Percent() = %d; want 81", p)
	}
}
