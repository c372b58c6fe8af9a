// Sluice's entry point into the upstream Gateway API conformance suite (v1.6.1).
//
// Run it through test/conformance/run, which starts the cluster, the fake kubelet and the
// controller first. Every upstream flag (--run-test, --conformance-profiles, --report-output,
// --usable-address, ...) is accepted after -args; this file only adds Sluice's defaults and
// two things the v1.6.1 suite gets wrong or lacks:
//
//   - Parallel tests: suite.Run records a test's result from t.Run's return value, which is
//     true as soon as a test calls t.Parallel() (upstream issue #5142, fixed after v1.6.1 by
//     #5143). We record every test's real outcome in its own t.Cleanup, write the report only
//     after all parallel tests have finished, and correct the report's counts with the real
//     outcomes, so a failing parallel test is never published as passed.
//   - A per-test results file (--sluice-results-output) from which conformance/RESULTS.md is
//     generated.
package conformance_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"sigs.k8s.io/gateway-api/conformance"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/tests"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/gateway-api/pkg/features"
)

const (
	defaultGatewayClass = "sluice"
	defaultOrganization = "sluice"
	defaultProject      = "sluice"
	defaultURL          = "https://sluice.dev"
	defaultContact      = "https://sluice.dev/community"
)

var (
	resultsOutput = flag.String("sluice-results-output", "",
		"Write every test's outcome (JSON) to this file; conformance/RESULTS.md is generated from it")
	packageJSON = flag.String("sluice-package-json", "../../../package.json",
		"package.json whose version becomes the report's implementation version when --version is not given")
)

// outcome is what a single conformance test really did.
type outcome struct {
	Name        string   `json:"name"`
	Features    []string `json:"features"`
	Provisional bool     `json:"provisional"`
	Parallel    bool     `json:"parallel"`
	// Requested profile -> "core" | "extended", for the profiles this test counts in.
	Profiles map[string]string `json:"profiles,omitempty"`
	// passed | failed | skipped | not-supported | provisional-skipped
	Result  string  `json:"result"`
	Seconds float64 `json:"seconds"`
}

type recorder struct {
	mu       sync.Mutex
	outcomes map[string]*outcome
}

func (r *recorder) set(name string, fn func(o *outcome)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(r.outcomes[name])
}

func flagGiven(name string) bool {
	given := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == name {
			given = true
		}
	})
	return given
}

func packageVersion(t *testing.T) string {
	raw, err := os.ReadFile(*packageJSON)
	require.NoError(t, err, "reading %s for the implementation version", *packageJSON)
	var pkg struct {
		Version string `json:"version"`
	}
	require.NoError(t, json.Unmarshal(raw, &pkg))
	require.NotEmpty(t, pkg.Version, "%s has no version", *packageJSON)
	return "v" + pkg.Version
}

func TestConformance(t *testing.T) {
	if os.Getenv("KUBECONFIG") == "" {
		t.Skip("KUBECONFIG is not set: run the suite through test/conformance/run (npm run conformance)")
	}
	opts := conformance.DefaultOptions(t)
	if !flagGiven("gateway-class") && opts.GatewayClassName == "gateway-conformance" {
		opts.GatewayClassName = defaultGatewayClass
	}
	impl := &opts.Implementation
	if impl.Organization == "" {
		impl.Organization = defaultOrganization
	}
	if impl.Project == "" {
		impl.Project = defaultProject
	}
	if impl.URL == "" {
		impl.URL = defaultURL
	}
	if impl.Version == "" {
		impl.Version = packageVersion(t)
	}
	if len(impl.Contact) == 0 {
		impl.Contact = []string{defaultContact}
	}
	if opts.ReportOutputPath != "" {
		require.NoError(t, impl.Validate(), "implementation details are not valid")
		require.NoError(t, os.MkdirAll(filepath.Dir(opts.ReportOutputPath), 0o755))
	}

	rec := &recorder{outcomes: map[string]*outcome{}}
	all := instrument(tests.ConformanceTests, rec)

	cSuite, err := suite.NewConformanceTestSuite(opts)
	require.NoError(t, err, "error initializing conformance suite")
	t.Logf("GatewayClass %s; profiles %v; supported features %v", opts.GatewayClassName,
		opts.ConformanceProfiles, sets(cSuite.SupportedFeatures.UnsortedList()))
	// What a test that never reaches its body is reported as, and where it counts.
	for _, test := range all {
		o := rec.outcomes[test.ShortName]
		for _, name := range opts.ConformanceProfiles {
			profile, ok := profilesByName[name]
			if !ok || !inProfile(profile, o.Features) {
				continue
			}
			if o.Profiles == nil {
				o.Profiles = map[string]string{}
			}
			o.Profiles[string(name)] = "core"
			if isExtended(profile, o.Features) {
				o.Profiles[string(name)] = "extended"
			}
		}
		switch {
		case !cSuite.SupportedFeatures.HasAll(test.Features...):
			o.Result = "not-supported"
		case opts.SkipProvisionalTests && test.Provisional:
			o.Result = "provisional-skipped"
		}
	}

	// Root-level cleanups run after every parallel subtest has finished.
	t.Cleanup(func() {
		final := rec.snapshot()
		if *resultsOutput != "" {
			writeJSON(t, *resultsOutput, final)
		}
		if opts.ReportOutputPath == "" {
			return
		}
		report, err := cSuite.Report()
		if err != nil {
			t.Errorf("generating the conformance report: %v", err)
			return
		}
		correctReport(report, final)
		raw, err := yaml.Marshal(report)
		if err != nil {
			t.Errorf("encoding the conformance report: %v", err)
			return
		}
		if err := os.WriteFile(opts.ReportOutputPath, raw, 0o644); err != nil {
			t.Errorf("writing the conformance report: %v", err)
			return
		}
		t.Logf("conformance report written to %s:\n%s", opts.ReportOutputPath, raw)
	})

	cSuite.Setup(t, all)
	require.NoError(t, cSuite.Run(t, all))
}

// serialTests are marked Parallel in v1.6.1 but cannot share the cluster with each other:
// all four point a Gateway in gateway-conformance-infra at Secret gateway-conformance-web-backend/
// certificate, two of them create ReferenceGrants in gateway-conformance-web-backend that
// permit exactly that reference (one for every Secret of the namespace), and the other two
// expect it to be refused. Run side by side, a correct implementation must report the
// reference as permitted while GatewaySecretMissingReferenceGrant and
// GatewaySecretInvalidReferenceGrant wait for RefNotPermitted. Running them one after the other
// (as the suite did before it had parallel tests) only changes scheduling; every test still runs.
var serialTests = map[string]bool{
	"GatewaySecretInvalidReferenceGrant":        true,
	"GatewaySecretMissingReferenceGrant":        true,
	"GatewaySecretReferenceGrantAllInNamespace": true,
	"GatewaySecretReferenceGrantSpecific":       true,
}

// instrument wraps every test so that its real outcome is recorded when it ends, whether
// it ran in parallel or not. Tests the suite does not start keep the result decided here.
func instrument(in []suite.ConformanceTest, rec *recorder) []suite.ConformanceTest {
	out := make([]suite.ConformanceTest, len(in))
	for i, test := range in {
		if serialTests[test.ShortName] {
			test.Parallel = false
		}
		names := make([]string, len(test.Features))
		for j, f := range test.Features {
			names[j] = string(f)
		}
		rec.outcomes[test.ShortName] = &outcome{
			Name: test.ShortName, Features: names, Provisional: test.Provisional,
			Parallel: test.Parallel, Result: "skipped",
		}
		inner := test.Test
		name := test.ShortName
		test.Test = func(t *testing.T, s *suite.ConformanceTestSuite) {
			started := time.Now()
			t.Cleanup(func() {
				rec.set(name, func(o *outcome) {
					o.Seconds = time.Since(started).Seconds()
					switch {
					case t.Failed():
						o.Result = "failed"
					case t.Skipped():
						o.Result = "skipped"
					default:
						o.Result = "passed"
					}
				})
			})
			inner(t, s)
		}
		out[i] = test
	}
	return out
}

func (r *recorder) snapshot() []outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := make([]outcome, 0, len(r.outcomes))
	for _, o := range r.outcomes {
		list = append(list, *o)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list
}

func writeJSON(t *testing.T, path string, v any) {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err == nil {
		err = os.MkdirAll(filepath.Dir(path), 0o755)
	}
	if err == nil {
		err = os.WriteFile(path, append(raw, '\n'), 0o644)
	}
	if err != nil {
		t.Errorf("writing %s: %v", path, err)
	}
}

func sets(names []features.FeatureName) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = string(n)
	}
	slices.Sort(out)
	return out
}

var profilesByName = map[suite.ConformanceProfileName]suite.ConformanceProfile{
	suite.GatewayHTTPConformanceProfileName: suite.GatewayHTTPConformanceProfile,
	suite.GatewayTLSConformanceProfileName:  suite.GatewayTLSConformanceProfile,
	suite.GatewayTCPConformanceProfileName:  suite.GatewayTCPConformanceProfile,
	suite.GatewayUDPConformanceProfileName:  suite.GatewayUDPConformanceProfile,
	suite.GatewayGRPCConformanceProfileName: suite.GatewayGRPCConformanceProfile,
	suite.MeshHTTPConformanceProfileName:    suite.MeshHTTPConformanceProfile,
	suite.MeshGRPCConformanceProfileName:    suite.MeshGRPCConformanceProfile,
}

// correctReport moves tests that the suite counted as passed but that really failed (only
// parallel tests can be miscounted) into the failed columns, with the same profile and
// core/extended classification as the suite's reports.go, then recomputes results and
// summaries.
func correctReport(report *confv1.ConformanceReport, final []outcome) {
	for _, o := range final {
		if o.Result != "failed" || !o.Parallel {
			continue
		}
		report.SucceededProvisionalTests = slices.DeleteFunc(report.SucceededProvisionalTests,
			func(n string) bool { return n == o.Name })
		for i := range report.ProfileReports {
			pr := &report.ProfileReports[i]
			profile, ok := profilesByName[suite.ConformanceProfileName(pr.Name)]
			if !ok || !inProfile(profile, o.Features) {
				continue
			}
			status := &pr.Core
			if isExtended(profile, o.Features) {
				if pr.Extended == nil {
					continue
				}
				status = &pr.Extended.Status
			}
			if slices.Contains(status.FailedTests, o.Name) || status.Passed == 0 {
				continue
			}
			status.Passed--
			status.Failed++
			status.FailedTests = append(status.FailedTests, o.Name)
			sort.Strings(status.FailedTests)
		}
	}
	for i := range report.ProfileReports {
		pr := &report.ProfileReports[i]
		pr.Core.Result = resultOf(pr.Core)
		summary := "Core tests " + describe(pr.Core)
		if pr.Extended != nil {
			pr.Extended.Result = resultOf(pr.Extended.Status)
			summary += ". Extended tests " + describe(pr.Extended.Status)
		}
		pr.Summary = summary + "."
	}
}

func inProfile(p suite.ConformanceProfile, feats []string) bool {
	for _, f := range feats {
		n := features.FeatureName(f)
		if !p.CoreFeatures.Has(n) && !p.ExtendedFeatures.Has(n) {
			return false
		}
	}
	return true
}

func isExtended(p suite.ConformanceProfile, feats []string) bool {
	for _, f := range feats {
		if !p.CoreFeatures.Has(features.FeatureName(f)) {
			return true
		}
	}
	return false
}

func resultOf(s confv1.Status) confv1.Result {
	switch {
	case s.Failed > 0:
		return confv1.Failure
	case s.Skipped > 0:
		return confv1.Partial
	default:
		return confv1.Success
	}
}

func describe(s confv1.Status) string {
	switch s.Result {
	case confv1.Failure:
		return fmt.Sprintf("failed with %d test failures", s.Failed)
	case confv1.Partial:
		return fmt.Sprintf("partially succeeded with %d test skips", s.Skipped)
	default:
		return "succeeded"
	}
}
