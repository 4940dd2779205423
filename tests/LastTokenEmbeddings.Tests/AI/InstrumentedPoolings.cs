using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Pooling;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.AI;

/// <summary>Forward passes and texts pooled, counted across every <see cref="CountingPooling"/> sharing it.</summary>
public sealed class ForwardCounter
{
    private int passes;
    private int texts;

    public int Passes => Volatile.Read(ref passes);

    /// <summary>Texts that went through a forward pass (pooling sees one row per text, never packing).</summary>
    public int Texts => Volatile.Read(ref texts);

    internal void Record(int rows)
    {
        Interlocked.Increment(ref passes);
        Interlocked.Add(ref texts, rows);
    }

    public void Reset()
    {
        Volatile.Write(ref passes, 0);
        Volatile.Write(ref texts, 0);
    }
}

/// <summary>A built-in strategy, same name and output, that counts its passes and texts.</summary>
public sealed class CountingPooling(IPoolingStrategy inner, ForwardCounter counter) : IPoolingStrategy
{
    public string Name => inner.Name;

    public int? Layer => inner.Layer;

    public int OutputDimension(DecoderConfig config) => inner.OutputDimension(config);

    public Tensor Pool(PoolingContext context)
    {
        counter.Record((int)context.HiddenStates.shape[0]);
        return inner.Pool(context);
    }
}

/// <summary>Last-token pooling that holds the one forward thread inside <see cref="Pool"/> until released, so queued calls line up deterministically.</summary>
public sealed class GatedPooling : IPoolingStrategy, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly ManualResetEventSlim entered = new();
    private readonly ManualResetEventSlim released = new();

    public string Name => "gated";

    public int? Layer => null;

    public int OutputDimension(DecoderConfig config) => config.HiddenSize;

    public Tensor Pool(PoolingContext context)
    {
        entered.Set();
        if (!released.Wait(Patience))
            throw new TimeoutException("the test never released the gate");
        return PoolingStrategies.LastTokenHidden.Pool(context);
    }

    public void WaitUntilEntered()
    {
        if (!entered.Wait(Patience))
            throw new TimeoutException("the forward thread never reached the gate");
    }

    public void Release() => released.Set();

    public void Dispose()
    {
        released.Set();
        entered.Dispose();
        released.Dispose();
    }
}
