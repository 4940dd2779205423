namespace LastTokenEmbeddings.Pooling;

/// <summary>The built-in strategies, and lookup by name for configuration files and command lines.</summary>
public static class PoolingStrategies
{
    /// <summary>Last-token LM-head logits (the article's method).</summary>
    public static IPoolingStrategy LastTokenLogits { get; } = new LastTokenLogitsPooling();

    /// <summary>Last-token final hidden state (e5-mistral's method).</summary>
    public static IPoolingStrategy LastTokenHidden { get; } = new LastTokenHiddenPooling();

    /// <summary>Mean of the final hidden states over real tokens.</summary>
    public static IPoolingStrategy Mean { get; } = new MeanPooling();

    /// <summary>Position-weighted mean of the final hidden states.</summary>
    public static IPoolingStrategy WeightedMean { get; } = new WeightedMeanPooling();

    /// <summary>The names <see cref="Parse"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["last-token-logits", "last-token-hidden", "mean", "weighted-mean"];

    /// <summary>The strategy for a sentence-transformers pooling mode: lasttoken, mean or weightedmean.</summary>
    /// <param name="mode">The mode, as <see cref="Checkpoints.DeclaredEmbeddingSettings.PoolingMode"/> names it.</param>
    /// <exception cref="ArgumentException">Another mode.</exception>
    public static IPoolingStrategy FromDeclaredMode(string mode)
    {
        ArgumentNullException.ThrowIfNull(mode);
        return mode switch
        {
            "lasttoken" => LastTokenHidden,
            "mean" => Mean,
            "weightedmean" => WeightedMean,
            _ => throw new ArgumentException($"Pooling mode '{mode}' is not implemented; expected lasttoken, mean or weightedmean.", nameof(mode)),
        };
    }

    /// <summary>Looks up a built-in strategy by name (case-insensitive), optionally reading another layer.</summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="layer">Hidden-state layer for the hidden-state strategies; not allowed for logits.</param>
    /// <exception cref="ArgumentException">Unknown name, or a layer given for logits pooling.</exception>
    public static IPoolingStrategy Parse(string name, int? layer = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "last-token-logits" when layer is null => LastTokenLogits,
            "last-token-logits" => throw new ArgumentException("last-token-logits pooling always reads the final layer; --layer does not apply.", nameof(layer)),
            "last-token-hidden" => layer is null ? LastTokenHidden : new LastTokenHiddenPooling(layer),
            "mean" => layer is null ? Mean : new MeanPooling(layer),
            "weighted-mean" => layer is null ? WeightedMean : new WeightedMeanPooling(layer),
            _ => throw new ArgumentException($"Unknown pooling '{name}'; expected one of: {string.Join(", ", Names)}.", nameof(name)),
        };
    }
}
