using Microsoft.Extensions.Options;

namespace LastTokenEmbeddings.AspNetCore.Serving;

/// <summary>
/// Bounds the requests admitted at once (<see cref="EmbeddingServerOptions.MaxConcurrentRequests"/>). It never waits:
/// a request past the limit is refused at once (429), which keeps latency bounded and tells clients to back off,
/// instead of letting an unbounded queue grow behind the model.
/// </summary>
internal sealed class AdmissionGate(IOptions<EmbeddingServerOptions> options, ServerMetrics metrics)
{
    private readonly int limit = options.Value.MaxConcurrentRequests;
    private int admitted;

    /// <summary>Requests admitted and not yet finished.</summary>
    public int Admitted => Volatile.Read(ref admitted);

    /// <summary>Admits a request unless the limit is reached; dispose the lease when the request is done.</summary>
    public bool TryEnter(out Lease lease)
    {
        if (Interlocked.Increment(ref admitted) > limit)
        {
            Interlocked.Decrement(ref admitted);
            lease = default;
            return false;
        }
        metrics.QueueSize.Inc();
        lease = new Lease(this);
        return true;
    }

    private void Exit()
    {
        Interlocked.Decrement(ref admitted);
        metrics.QueueSize.Dec();
    }

    /// <summary>A place in the gate, given back on dispose.</summary>
    internal struct Lease : IDisposable
    {
        private AdmissionGate? gate;

        internal Lease(AdmissionGate gate)
        {
            this.gate = gate;
        }

        public void Dispose()
        {
            gate?.Exit();
            gate = null;
        }
    }
}
