using System.Collections.ObjectModel;
using System.Numerics.Tensors;
using System.Text.Json;
using System.Text.Json.Serialization;
using LastTokenEmbeddings.Similarity;

namespace LastTokenEmbeddings.Quantization;

/// <summary>
/// Per-dimension calibration for scalar (int8 / uint8) quantization: the value range [<see cref="Minimums"/>[d],
/// <see cref="Maximums"/>[d]] of each dimension d is cut into 255 equal steps, as in sentence-transformers'
/// <c>quantize_embeddings(..., ranges=...)</c> (its <c>ranges</c> is this type's two rows). A corpus and the queries
/// searched against it must share one calibration, so it serialises to JSON (<see cref="ToJson"/>,
/// <see cref="FromJson"/>, or <see cref="JsonSerializer"/> directly): <c>{"minimums":[…],"maximums":[…]}</c>, with
/// floats written in their shortest round-tripping form.
/// </summary>
public sealed class QuantizationRanges : IEquatable<QuantizationRanges>
{
    private static readonly JsonSerializerOptions SerializerOptions = new() { WriteIndented = false };

    private readonly float[] _minimums;
    private readonly float[] _maximums;
    private readonly float[] _steps;

    /// <summary>Ranges given explicitly, for example read from a stored calibration.</summary>
    /// <param name="minimums">Each dimension's lowest value (the start of its first step).</param>
    /// <param name="maximums">Each dimension's highest value, at least its minimum.</param>
    /// <exception cref="ArgumentNullException">A list is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The lists are empty or of different lengths, a value is not finite, a maximum is below its minimum, or a range
    /// is wider than <see cref="float"/> can hold.
    /// </exception>
    [JsonConstructor]
    public QuantizationRanges(IReadOnlyList<float> minimums, IReadOnlyList<float> maximums)
    {
        ArgumentNullException.ThrowIfNull(minimums);
        ArgumentNullException.ThrowIfNull(maximums);
        if (minimums.Count == 0)
        {
            throw new ArgumentException("The ranges have no dimensions.", nameof(minimums));
        }

        if (minimums.Count != maximums.Count)
        {
            throw new ArgumentException(
                $"There are {minimums.Count} minimums but {maximums.Count} maximums.", nameof(maximums));
        }

        _minimums = [.. minimums];
        _maximums = [.. maximums];
        _steps = new float[_minimums.Length];
        for (int d = 0; d < _minimums.Length; d++)
        {
            float min = _minimums[d], max = _maximums[d];
            if (!float.IsFinite(min) || !float.IsFinite(max))
            {
                throw new ArgumentException($"Dimension {d}'s range [{min}, {max}] is not finite.", nameof(minimums));
            }

            if (max < min)
            {
                throw new ArgumentException($"Dimension {d}'s maximum {max} is below its minimum {min}.", nameof(maximums));
            }

            // float32 arithmetic, as numpy computes (ranges[1] - ranges[0]) / 255 for float32 ranges.
            float width = max - min;
            if (!float.IsFinite(width))
            {
                throw new ArgumentException($"Dimension {d}'s range [{min}, {max}] is too wide for float.", nameof(maximums));
            }

            _steps[d] = width / 255f;
        }

        Minimums = new ReadOnlyCollection<float>(_minimums);
        Maximums = new ReadOnlyCollection<float>(_maximums);
    }

    /// <summary>Each dimension's lowest value: the start of its first quantization step.</summary>
    [JsonPropertyName("minimums")]
    public IReadOnlyList<float> Minimums { get; }

    /// <summary>Each dimension's highest value: the end of its last quantization step.</summary>
    [JsonPropertyName("maximums")]
    public IReadOnlyList<float> Maximums { get; }

    /// <summary>The number of dimensions.</summary>
    [JsonIgnore]
    public int Dimensions => _minimums.Length;

    internal ReadOnlySpan<float> Starts => _minimums;

    /// <summary>(maximum − minimum) / 255 per dimension, in float32; 0 for a dimension whose range is a single value.</summary>
    internal ReadOnlySpan<float> Steps => _steps;

    /// <summary>
    /// Calibrates from a sample of embeddings: each dimension's minimum and maximum over the sample, as
    /// sentence-transformers does with <c>calibration_embeddings</c>. Use a sample like the data to quantize (the
    /// corpus itself, or a few thousand of its embeddings, normalised the same way); values outside the sample's
    /// range are clamped when quantized.
    /// </summary>
    /// <param name="sample">The calibration embeddings, at least one row.</param>
    /// <returns>The ranges.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="sample"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="sample"/> has no rows.</exception>
    public static QuantizationRanges Calibrate(EmbeddingMatrix sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        if (sample.RowCount == 0)
        {
            throw new ArgumentException("The calibration sample has no rows.", nameof(sample));
        }

        float[] minimums = sample.Row(0).ToArray();
        float[] maximums = sample.Row(0).ToArray();
        for (int i = 1; i < sample.RowCount; i++)
        {
            ReadOnlySpan<float> row = sample.Row(i);
            TensorPrimitives.Min(minimums, row, minimums);
            TensorPrimitives.Max(maximums, row, maximums);
        }

        return new QuantizationRanges(minimums, maximums);
    }

    /// <summary>The ranges as JSON: <c>{"minimums":[…],"maximums":[…]}</c>.</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson() => JsonSerializer.Serialize(this, SerializerOptions);

    /// <summary>Reads ranges written by <see cref="ToJson"/>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The ranges.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="json"/> is <see langword="null"/>.</exception>
    /// <exception cref="JsonException">The text is not valid JSON of this shape, or the ranges it holds are invalid.</exception>
    public static QuantizationRanges FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonSerializer.Deserialize<QuantizationRanges>(json, SerializerOptions)
                ?? throw new JsonException("The JSON is null, not quantization ranges.");
        }
        catch (ArgumentException e)
        {
            throw new JsonException($"Invalid quantization ranges: {e.Message}", e);
        }
    }

    /// <summary>Whether both hold the same minimums and maximums.</summary>
    /// <param name="other">The ranges to compare with.</param>
    /// <returns><see langword="true"/> when every minimum and maximum is equal.</returns>
    public bool Equals(QuantizationRanges? other) =>
        other is not null
        && (ReferenceEquals(this, other)
            || (_minimums.AsSpan().SequenceEqual(other._minimums) && _maximums.AsSpan().SequenceEqual(other._maximums)));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as QuantizationRanges);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        for (int d = 0; d < _minimums.Length; d++)
        {
            // + 0f turns -0 into +0, which Equals treats as the same value.
            hash.Add(_minimums[d] + 0f);
            hash.Add(_maximums[d] + 0f);
        }

        return hash.ToHashCode();
    }
}
