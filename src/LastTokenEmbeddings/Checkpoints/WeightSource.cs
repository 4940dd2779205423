using LastTokenEmbeddings.Checkpoints.Safetensors;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Checkpoints;

/// <summary>
/// Hands tensors to modules by their checkpoint names, checking each shape before reading it and
/// remembering which were taken, so that loading is a strict key match. Every tensor comes out in one compute
/// dtype, so a checkpoint that stores some tensors (say, norms) in another dtype never mixes dtypes mid-forward.
/// </summary>
internal sealed class WeightSource
{
    private readonly ShardedCheckpoint checkpoint;
    private readonly string prefix;
    private readonly ScalarType dtype;
    private readonly HashSet<string> available;
    private readonly HashSet<string> taken;
    private readonly bool headersOnly;

    /// <param name="checkpoint">The opened checkpoint.</param>
    /// <param name="prefix">Prefix of every name taken (empty at the root).</param>
    /// <param name="dtype">The compute dtype.</param>
    /// <param name="device">Where tensors go.</param>
    /// <param name="headersOnly">Check names, shapes and dtypes against the headers only, handing out data-less meta tensors.</param>
    public WeightSource(ShardedCheckpoint checkpoint, string prefix, ScalarType dtype, Device device, bool headersOnly = false)
        : this(checkpoint, prefix, dtype, headersOnly ? new Device(TorchSharp.DeviceType.META) : device, headersOnly,
            new HashSet<string>(checkpoint.TensorNames, StringComparer.Ordinal), new HashSet<string>(StringComparer.Ordinal))
    {
    }

    private WeightSource(ShardedCheckpoint checkpoint, string prefix, ScalarType dtype, Device device, bool headersOnly, HashSet<string> available, HashSet<string> taken)
    {
        this.checkpoint = checkpoint;
        this.prefix = prefix;
        this.dtype = dtype;
        Device = device;
        this.headersOnly = headersOnly;
        this.available = available;
        this.taken = taken;
    }

    public Device Device { get; }

    /// <summary>The dtype every tensor is converted to.</summary>
    public ScalarType DType => dtype;

    public WeightSource Scope(string name) => new(checkpoint, $"{prefix}{name}.", dtype, Device, headersOnly, available, taken);

    public bool Contains(string name) => available.Contains(prefix + name);

    /// <summary>Whether tensors are data-less meta tensors checked against the headers only.</summary>
    public bool HeadersOnly => headersOnly;

    /// <summary>Reads <paramref name="name"/>, converted to the compute dtype and device; the caller owns the result.</summary>
    public Tensor Take(string name, params long[] shape)
    {
        var fullName = Check(name, shape);
        if (headersOnly)
            return empty(shape, dtype, Device);
        var stored = checkpoint.Read(fullName);
        if (stored.dtype == dtype && stored.device == Device)
            return stored; // a view of the memory-mapped file: no second copy
        Tensor converted;
        using (stored)
            converted = stored.to(dtype, Device);
        checkpoint.ReleasePages(fullName); // converted tensor by tensor: the mapped original need not stay resident
        return converted;
    }

    /// <summary>
    /// Reads <paramref name="name"/> as stored (a view of the memory-mapped file, on the CPU, in the checkpoint's dtype),
    /// checked as <see cref="Take"/> checks it; the caller owns the result. For weights the caller re-lays out itself.
    /// </summary>
    public Tensor TakeStored(string name, params long[] shape)
    {
        var fullName = Check(name, shape);
        return headersOnly ? empty(shape, dtype, Device) : checkpoint.Read(fullName);
    }

    /// <summary>Drops <paramref name="name"/>'s mapped pages from this process once its data has been copied elsewhere.</summary>
    public void ReleasePages(string name)
    {
        if (!headersOnly)
            checkpoint.ReleasePages(prefix + name);
    }

    private string Check(string name, long[] shape)
    {
        var fullName = prefix + name;
        if (!available.Contains(fullName))
            throw new CheckpointException(checkpoint.SourcePath, "required tensor is missing from the checkpoint.", fullName);
        var info = checkpoint.GetInfo(fullName);
        if (!info.Shape.SequenceEqual(shape))
            throw new CheckpointException(checkpoint.FileOf(fullName),
                $"shape [{string.Join(", ", info.Shape)}] does not match the [{string.Join(", ", shape)}] that config.json implies.", fullName);
        if (info.DType is not (SafetensorsDType.F32 or SafetensorsDType.BF16 or SafetensorsDType.F16))
            throw new CheckpointException(checkpoint.FileOf(fullName), $"dtype {info.DType} is not a floating-point weight dtype (F32, BF16, F16).", fullName);
        taken.Add(fullName);
        return fullName;
    }

    /// <summary>Marks a tensor as consumed without loading it (a saved copy of a tied LM head).</summary>
    public void Ignore(string name) => taken.Add(prefix + name);

    /// <summary>Fails on tensors the architecture has no place for.</summary>
    /// <param name="architecture">Named in the error, e.g. "Qwen3ForCausalLM".</param>
    public void EnsureAllTaken(string architecture)
    {
        var unexpected = available.Where(name => !taken.Contains(name)).Order(StringComparer.Ordinal).ToList();
        if (unexpected.Count > 0)
            throw new CheckpointException(checkpoint.FileOf(unexpected[0]),
                $"unexpected tensor: the {architecture} architecture has no place for it ({unexpected.Count} unexpected in all).", unexpected[0]);
    }
}
