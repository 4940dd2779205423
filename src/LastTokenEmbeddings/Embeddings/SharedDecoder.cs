using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Modeling;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Embeddings;

/// <summary>
/// The loaded decoder and tokenizer, shared by every <see cref="EmbeddingModel"/> view of one checkpoint.
/// Reference-counted: each view and each in-flight call holds a reference, and the native weights are freed
/// when the last one is released, so disposing while calls run neither crashes them nor waits for them.
/// Forward passes run one at a time: on CPU, libtorch already spreads one pass over all cores.
/// </summary>
internal sealed class SharedDecoder
{
    private readonly Lock gate = new();
    private readonly SemaphoreSlim forwardGate = new(1, 1);
    private int references = 1;

    public SharedDecoder(DecoderForCausalLM decoder, ModelTokenizer tokenizer, DeclaredEmbeddingSettings? declared)
    {
        Decoder = decoder;
        Tokenizer = tokenizer;
        Declared = declared;
    }

    public DecoderForCausalLM Decoder { get; }

    public ModelTokenizer Tokenizer { get; }

    public DeclaredEmbeddingSettings? Declared { get; }

    public bool TryAcquire()
    {
        lock (gate)
        {
            if (references == 0) return false;
            references++;
            return true;
        }
    }

    public void Release()
    {
        lock (gate)
        {
            if (--references > 0) return;
        }
        Decoder.Dispose();
        forwardGate.Dispose();
    }

    /// <summary>Runs <paramref name="forward"/> on the calling thread while no other forward pass runs.</summary>
    public T RunExclusive<T>(Func<T> forward, CancellationToken cancellationToken)
    {
        forwardGate.Wait(cancellationToken);
        try
        {
            return forward();
        }
        finally
        {
            forwardGate.Release();
        }
    }
}
