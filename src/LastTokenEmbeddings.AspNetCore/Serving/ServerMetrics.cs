using Microsoft.Extensions.Options;
using Prometheus;

namespace LastTokenEmbeddings.AspNetCore.Serving;

/// <summary>
/// The Prometheus metrics of one server, in a registry of its own so several servers (or test hosts) in one
/// process never share counters. Exposed at <c>GET /metrics</c>.
/// </summary>
internal sealed class ServerMetrics
{
    public ServerMetrics(IOptions<EmbeddingServerOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        Requests = factory.CreateCounter("lte_requests_total", "HTTP requests handled by the embedding endpoints.",
            new CounterConfiguration { LabelNames = ["endpoint", "status"] });
        Duration = factory.CreateHistogram("lte_request_duration_seconds", "Time from receiving a request to its response, by endpoint.",
            new HistogramConfiguration { LabelNames = ["endpoint"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 18) });
        QueueSize = factory.CreateGauge("lte_queue_size", "Requests admitted and not finished: waiting in the model's queue or in a forward pass.");
        factory.CreateGauge("lte_queue_capacity", "Most requests admitted at once (past it: 429).").Set(options.Value.MaxConcurrentRequests);
        RequestInputs = factory.CreateHistogram("lte_request_inputs", "Inputs (texts or token sequences) per embedding request.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 13) });
        BatchTokens = factory.CreateHistogram("lte_batch_tokens", "Tokens one embedding request adds to the shared forward passes (prompt format included).",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 21) });
        Tokens = factory.CreateCounter("lte_tokens_total", "Tokens embedded (prompt format included).");
    }

    /// <summary>The registry <c>/metrics</c> serves.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Requests by endpoint and status code.</summary>
    public Counter Requests { get; }

    /// <summary>Request duration by endpoint.</summary>
    public Histogram Duration { get; }

    /// <summary>Admitted requests in flight.</summary>
    public Gauge QueueSize { get; }

    /// <summary>Inputs per embedding request.</summary>
    public Histogram RequestInputs { get; }

    /// <summary>Tokens per embedding request.</summary>
    public Histogram BatchTokens { get; }

    /// <summary>Tokens embedded.</summary>
    public Counter Tokens { get; }
}
