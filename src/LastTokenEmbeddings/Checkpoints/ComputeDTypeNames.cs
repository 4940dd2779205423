namespace LastTokenEmbeddings.Checkpoints;

/// <summary>The names command lines and configuration files use for <see cref="ComputeDType"/>.</summary>
public static class ComputeDTypeNames
{
    /// <summary>"auto", "stored", "float32", "bfloat16", "float16".</summary>
    public static IReadOnlyList<string> Names { get; } = ["auto", "stored", "float32", "bfloat16", "float16"];

    /// <summary>Looks up a dtype by name (case-insensitive).</summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="dtype">The dtype, when the name is known.</param>
    /// <returns>Whether the name is known.</returns>
    public static bool TryParse(string? name, out ComputeDType dtype)
    {
        (var known, dtype) = name?.ToLowerInvariant() switch
        {
            "auto" => (true, ComputeDType.Auto),
            "stored" => (true, ComputeDType.AsStored),
            "float32" => (true, ComputeDType.Float32),
            "bfloat16" => (true, ComputeDType.BFloat16),
            "float16" => (true, ComputeDType.Float16),
            _ => (false, default(ComputeDType)),
        };
        return known;
    }

    /// <summary>The name of <paramref name="dtype"/>, as <see cref="TryParse"/> accepts it.</summary>
    /// <param name="dtype">The dtype.</param>
    public static string Name(ComputeDType dtype) => dtype switch
    {
        ComputeDType.Auto => "auto",
        ComputeDType.AsStored => "stored",
        ComputeDType.Float32 => "float32",
        ComputeDType.BFloat16 => "bfloat16",
        ComputeDType.Float16 => "float16",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown compute dtype."),
    };
}
