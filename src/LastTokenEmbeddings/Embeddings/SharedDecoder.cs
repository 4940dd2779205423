using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Modeling;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Embeddings;

/// <summary>
/// The loaded decoder and tokenizer, shared by every <see cref="EmbeddingModel"/> view of one checkpoint.
/// Reference-counted: each view and each in-flight call holds a reference, and the native weights are freed
/// when the last one is released, so disposing while calls run neither crashes them nor waits for them.
/// Forward passes run on the <see cref="Scheduler"/>'s one thread: on CPU, libtorch already spreads one pass over all cores.
/// </summary>
internal sealed class SharedDecoder
{
    private readonly Lock gate = new();
    private int references = 1;

    public SharedDecoder(DecoderForCausalLM decoder, ModelTokenizer tokenizer, DeclaredEmbeddingSettings? declared)
    {
        Decoder = decoder;
        Tokenizer = tokenizer;
        Declared = declared;
        Scheduler = new ForwardScheduler(decoder);
    }

    public DecoderForCausalLM Decoder { get; }

    public ModelTokenizer Tokenizer { get; }

    public DeclaredEmbeddingSettings? Declared { get; }

    public ForwardScheduler Scheduler { get; }

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
        Scheduler.Stop(Decoder.Dispose);
    }
}
