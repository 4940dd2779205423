using System.Numerics;
using LastTokenEmbeddings.Quantization;
using LastTokenEmbeddings.Similarity;
using Microsoft.Extensions.AI;

namespace LastTokenEmbeddings.AI;

/// <summary>
/// int8, uint8 and binary Microsoft.Extensions.AI generators over any float generator, with the semantics of
/// sentence-transformers' <c>quantize_embeddings</c> (<see cref="ScalarQuantization"/>, <see cref="BinaryQuantization"/>):
/// scalar codes cut each dimension's calibrated range into 255 steps; binary keeps one bit per dimension, set when
/// the value is &gt; 0. Quantized generators do not own the float generator: disposing them leaves it usable.
/// </summary>
/// <remarks>
/// Quantizing costs ranking quality. Measured recall@10 against the float32 top-10 (docs/similarity-and-quantization.md):
/// int8 code dot products 0.73–0.77, binary Hamming distance 0.33–0.52, uint8 code dot products 0.14–0.21 (store uint8,
/// do not rank by it); int8 dequantized against a float query 0.96–0.996, binary candidates (×4) rescored with float
/// vectors 0.67–0.76, with ×10 candidates 0.86–0.998.
/// </remarks>
public static class QuantizingEmbeddingGeneratorExtensions
{
    /// <summary>Calibrates int8/uint8 ranges on a sample: each dimension's minimum and maximum over the sample's embeddings.</summary>
    /// <typeparam name="TInput">What the generator embeds.</typeparam>
    /// <param name="generator">The float generator whose embeddings will be quantized.</param>
    /// <param name="sample">Inputs like the data to quantize (the corpus itself, or a few thousand of its documents).</param>
    /// <param name="options">The options the quantized calls will use (role, dimensions), so the sample is embedded the same way.</param>
    /// <param name="cancellationToken">Cancels the embedding of the sample.</param>
    /// <returns>The ranges; store them (<see cref="QuantizationRanges.ToJson"/>) and quantize queries and corpus with the same ones.</returns>
    /// <exception cref="ArgumentException">The sample is empty.</exception>
    public static async Task<QuantizationRanges> CalibrateQuantizationRangesAsync<TInput>(this IEmbeddingGenerator<TInput, Embedding<float>> generator,
        IEnumerable<TInput> sample, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(sample);
        var embeddings = await generator.GenerateAsync(sample, options, cancellationToken).ConfigureAwait(false);
        if (embeddings.Count == 0)
            throw new ArgumentException("The calibration sample is empty.", nameof(sample));
        return QuantizationRanges.Calibrate(ToMatrix(embeddings));
    }

    /// <summary>A generator of int8 codes (sentence-transformers' <c>int8</c>) made from <paramref name="generator"/>'s vectors.</summary>
    /// <typeparam name="TInput">What the generator embeds.</typeparam>
    /// <param name="generator">The float generator; not owned.</param>
    /// <param name="ranges">The calibration, of the vectors' dimensions (after any <see cref="EmbeddingGenerationOptions.Dimensions"/>).</param>
    /// <returns>The int8 generator; <c>GetService&lt;QuantizationRanges&gt;()</c> returns <paramref name="ranges"/>.</returns>
    public static IEmbeddingGenerator<TInput, Embedding<sbyte>> AsInt8EmbeddingGenerator<TInput>(this IEmbeddingGenerator<TInput, Embedding<float>> generator,
        QuantizationRanges ranges) =>
        new ScalarQuantizingEmbeddingGenerator<TInput, sbyte>(generator, ranges, ScalarQuantization.QuantizeInt8);

    /// <summary>A generator of uint8 codes (sentence-transformers' <c>uint8</c>) made from <paramref name="generator"/>'s vectors.</summary>
    /// <typeparam name="TInput">What the generator embeds.</typeparam>
    /// <param name="generator">The float generator; not owned.</param>
    /// <param name="ranges">The calibration, of the vectors' dimensions (after any <see cref="EmbeddingGenerationOptions.Dimensions"/>).</param>
    /// <returns>The uint8 generator; <c>GetService&lt;QuantizationRanges&gt;()</c> returns <paramref name="ranges"/>.</returns>
    /// <remarks>uint8 codes are for storage: their dot products rank poorly (all codes are positive); dequantize to compare.</remarks>
    public static IEmbeddingGenerator<TInput, Embedding<byte>> AsUInt8EmbeddingGenerator<TInput>(this IEmbeddingGenerator<TInput, Embedding<float>> generator,
        QuantizationRanges ranges) =>
        new ScalarQuantizingEmbeddingGenerator<TInput, byte>(generator, ranges, ScalarQuantization.QuantizeUInt8);

    /// <summary>
    /// A generator of binary embeddings, one bit per dimension set when the value is &gt; 0 (sentence-transformers'
    /// <c>ubinary</c> bits; <see cref="BinaryEmbedding.Vector"/> holds dimension i at index i). Needs no calibration.
    /// </summary>
    /// <typeparam name="TInput">What the generator embeds.</typeparam>
    /// <param name="generator">The float generator; not owned.</param>
    /// <returns>The binary generator.</returns>
    public static IEmbeddingGenerator<TInput, BinaryEmbedding> AsBinaryEmbeddingGenerator<TInput>(this IEmbeddingGenerator<TInput, Embedding<float>> generator) =>
        new BinaryQuantizingEmbeddingGenerator<TInput>(generator);

    /// <summary>The float vectors of one call as one matrix (so the quantizers run over one buffer).</summary>
    internal static EmbeddingMatrix ToMatrix(GeneratedEmbeddings<Embedding<float>> embeddings) =>
        EmbeddingMatrix.FromRows(embeddings.Select(embedding => embedding.Vector).ToArray());

    /// <summary>Copies what an embedding says about itself (model, time, extra properties) onto its quantized form.</summary>
    internal static TEmbedding CopyDetails<TEmbedding>(Embedding<float> source, TEmbedding target)
        where TEmbedding : Embedding
    {
        target.ModelId = source.ModelId;
        target.CreatedAt = source.CreatedAt;
        target.AdditionalProperties = source.AdditionalProperties;
        return target;
    }
}

/// <summary>Scalar codes of a float generator's vectors.</summary>
internal sealed class ScalarQuantizingEmbeddingGenerator<TInput, TCode>(
    IEmbeddingGenerator<TInput, Embedding<float>> inner,
    QuantizationRanges ranges,
    Func<EmbeddingMatrix, QuantizationRanges, ScalarQuantizedMatrix<TCode>> quantize) : IEmbeddingGenerator<TInput, Embedding<TCode>>
    where TCode : unmanaged, IBinaryInteger<TCode>
{
    private readonly IEmbeddingGenerator<TInput, Embedding<float>> inner = inner ?? throw new ArgumentNullException(nameof(inner));
    private readonly QuantizationRanges ranges = ranges ?? throw new ArgumentNullException(nameof(ranges));

    public async Task<GeneratedEmbeddings<Embedding<TCode>>> GenerateAsync(IEnumerable<TInput> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var floats = await inner.GenerateAsync(values, options, cancellationToken).ConfigureAwait(false);
        var result = new GeneratedEmbeddings<Embedding<TCode>>(floats.Count) { Usage = floats.Usage, AdditionalProperties = floats.AdditionalProperties };
        if (floats.Count == 0) return result;
        var matrix = QuantizingEmbeddingGeneratorExtensions.ToMatrix(floats);
        if (matrix.Dimensions != ranges.Dimensions)
            throw new InvalidOperationException(
                $"The vectors have {matrix.Dimensions} dimensions but the quantization ranges have {ranges.Dimensions}; calibrate with the same dimensions.");
        var codes = quantize(matrix, ranges);
        for (var i = 0; i < floats.Count; i++)
        {
            // Rows share one buffer of codes: one allocation per call, not per text.
            var row = new Embedding<TCode>(codes.Values.Slice(i * codes.Dimensions, codes.Dimensions));
            result.Add(QuantizingEmbeddingGeneratorExtensions.CopyDetails(floats[i], row));
        }
        return result;
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is null && serviceType == typeof(QuantizationRanges)) return ranges;
        if (serviceKey is null && serviceType.IsInstanceOfType(this)) return this;
        return inner.GetService(serviceType, serviceKey);
    }

    public void Dispose()
    {
        // The float generator is not owned (often a shared singleton).
    }
}

/// <summary>Sign bits of a float generator's vectors.</summary>
internal sealed class BinaryQuantizingEmbeddingGenerator<TInput>(IEmbeddingGenerator<TInput, Embedding<float>> inner) : IEmbeddingGenerator<TInput, BinaryEmbedding>
{
    private readonly IEmbeddingGenerator<TInput, Embedding<float>> inner = inner ?? throw new ArgumentNullException(nameof(inner));

    public async Task<GeneratedEmbeddings<BinaryEmbedding>> GenerateAsync(IEnumerable<TInput> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var floats = await inner.GenerateAsync(values, options, cancellationToken).ConfigureAwait(false);
        var result = new GeneratedEmbeddings<BinaryEmbedding>(floats.Count) { Usage = floats.Usage, AdditionalProperties = floats.AdditionalProperties };
        if (floats.Count == 0) return result;
        var bits = BinaryQuantization.Quantize(QuantizingEmbeddingGeneratorExtensions.ToMatrix(floats));
        for (var i = 0; i < floats.Count; i++)
            result.Add(QuantizingEmbeddingGeneratorExtensions.CopyDetails(floats[i], bits.ToBinaryEmbedding(i)));
        return result;
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is null && serviceType.IsInstanceOfType(this)) return this;
        return inner.GetService(serviceType, serviceKey);
    }

    public void Dispose()
    {
        // The float generator is not owned (often a shared singleton).
    }
}
