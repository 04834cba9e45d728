package chaoshttp_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/steadystate/steadystate/chaoshttp"
)

// A game day in the style of Stitch Fix's: the payment API returns 500 for
// the users the payment-chaos flag puts in the experiment. The checkout
// service decides the cohort from the flag and passes it on in baggage; the
// payment service injects the fault for the experiment cohort only. Every
// span of both services carries chaos.experiment.id and
// chaos.experiment.cohort (an OTLP exporter would send them to
// `ingest serve`).
func Example() {
	// Once per process: the SDK with the baggage span processor (add your
	// exporter's batcher, e.g. otlptracegrpc, next to it) and a baggage
	// propagator.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(chaoshttp.NewBaggageSpanProcessor()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))

	// The payment service: cohort from the caller's baggage only, 500 for
	// every experiment-cohort request.
	payment, err := chaoshttp.New(chaoshttp.Config{
		ExperimentID: "checkout-payment-500",
		Fault:        chaoshttp.Fault{Status: http.StatusInternalServerError},
	})
	if err != nil {
		panic(err)
	}
	paymentSrv := httptest.NewServer(otelhttp.NewHandler(payment.Handler(http.HandlerFunc(
		func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "paid") })), "payment"))
	defer paymentSrv.Close()

	// The checkout service: cohort from the feature flag (an OpenFeature
	// client would sit behind FlagFunc), no fault of its own; its client
	// carries the cohort to payment.
	flags := chaoshttp.FlagFunc{Name: "in-memory", Eval: func(_ context.Context, _, user string) (string, error) {
		if user == "user-7" {
			return "on", nil
		}
		return "off", nil
	}}
	byFlag, err := chaoshttp.ByFlag(flags, "payment-chaos", "on", chaoshttp.HeaderSubject("X-User-ID"))
	if err != nil {
		panic(err)
	}
	checkout, err := chaoshttp.New(chaoshttp.Config{ExperimentID: "checkout-payment-500", Cohort: byFlag})
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: otelhttp.NewTransport(checkout.Transport(nil))}
	checkoutSrv := httptest.NewServer(otelhttp.NewHandler(checkout.Handler(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, paymentSrv.URL, nil)
			resp, err := client.Do(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			_ = resp.Body.Close()
			w.WriteHeader(resp.StatusCode)
		})), "checkout"))
	defer checkoutSrv.Close()

	for _, user := range []string{"user-1", "user-7"} {
		req, _ := http.NewRequest(http.MethodGet, checkoutSrv.URL, nil)
		req.Header.Set("X-User-ID", user)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		_ = resp.Body.Close()
		fmt.Println(user, resp.StatusCode)
	}
	// Output:
	// user-1 200
	// user-7 500
}

// ByHash splits subjects by a stable hash: 50 per mille (5%) of users are
// in the experiment cohort, the same ones in every process and language
// (see HashPerMille).
func ExampleByHash() {
	byHash, err := chaoshttp.ByHash(chaoshttp.HeaderSubject("X-User-ID"), "checkout-payment-500", 50)
	if err != nil {
		panic(err)
	}
	in, err := chaoshttp.New(chaoshttp.Config{ExperimentID: "checkout-payment-500", Cohort: byHash,
		Fault: chaoshttp.Fault{Status: http.StatusServiceUnavailable}})
	if err != nil {
		panic(err)
	}
	experiment := 0
	for i := range 1000 {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("X-User-ID", fmt.Sprint("user-", i))
		d, _ := in.Decide(req)
		if d.Fault {
			experiment++
		}
	}
	fmt.Println(experiment > 30 && experiment < 70)
	// Output: true
}
