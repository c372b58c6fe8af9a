package conformance_test

import (
	"testing"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
)

// A failing parallel test that the v1.6.1 suite counted as passed moves to the failed column
// of every profile it belongs to, at the right level; results and summaries follow.
func TestCorrectReport(t *testing.T) {
	report := &confv1.ConformanceReport{
		ProfileReports: []confv1.ProfileReport{
			{
				Name: "GATEWAY-HTTP",
				Core: confv1.Status{Result: confv1.Success, Statistics: confv1.Statistics{Passed: 37}},
				Extended: &confv1.ExtendedStatus{Status: confv1.Status{
					Result: confv1.Failure, Statistics: confv1.Statistics{Passed: 26, Failed: 1}, FailedTests: []string{"HTTPRouteCORS"},
				}},
			},
			{
				Name: "GATEWAY-TCP",
				Core: confv1.Status{Result: confv1.Success, Statistics: confv1.Statistics{Passed: 19}},
			},
		},
		SucceededProvisionalTests: []string{"GatewayInfrastructure", "HTTPRoute303Redirect"},
	}
	final := []outcome{
		{Name: "GatewayInvalidRouteKind", Features: []string{"Gateway"}, Parallel: true, Result: "failed"},
		{Name: "GatewayInfrastructure", Features: []string{"Gateway", "GatewayInfrastructurePropagation"}, Parallel: true, Provisional: true, Result: "failed"},
		// Not parallel: the suite already counted it correctly.
		{Name: "HTTPRouteCORS", Features: []string{"Gateway", "HTTPRoute", "HTTPRouteCORS"}, Result: "failed"},
		{Name: "HTTPRouteSimpleSameNamespace", Features: []string{"Gateway", "HTTPRoute"}, Parallel: true, Result: "passed"},
	}
	correctReport(report, final)

	http := report.ProfileReports[0]
	if http.Core.Passed != 36 || http.Core.Failed != 1 || http.Core.Result != confv1.Failure || len(http.Core.FailedTests) != 1 || http.Core.FailedTests[0] != "GatewayInvalidRouteKind" {
		t.Errorf("GATEWAY-HTTP core not corrected: %+v", http.Core)
	}
	if http.Extended.Passed != 25 || http.Extended.Failed != 2 || http.Extended.Result != confv1.Failure {
		t.Errorf("GATEWAY-HTTP extended not corrected: %+v", http.Extended.Status)
	}
	if got, want := http.Summary, "Core tests failed with 1 test failures. Extended tests failed with 2 test failures."; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	tcp := report.ProfileReports[1]
	if tcp.Core.Passed != 18 || tcp.Core.Failed != 1 || tcp.Summary != "Core tests failed with 1 test failures." {
		t.Errorf("GATEWAY-TCP core not corrected: %+v %q", tcp.Core, tcp.Summary)
	}
	if len(report.SucceededProvisionalTests) != 1 || report.SucceededProvisionalTests[0] != "HTTPRoute303Redirect" {
		t.Errorf("succeededProvisionalTests: %v", report.SucceededProvisionalTests)
	}
}
