using System.Numerics;

namespace LastTokenEmbeddings.Quantization;

/// <summary>
/// Scalar-quantized embeddings: <see cref="RowCount"/> × <see cref="Dimensions"/> codes, row-major, with the
/// <see cref="Ranges"/> they were quantized with (needed to compare them with other codes or to dequantize them).
/// </summary>
/// <typeparam name="T"><see cref="sbyte"/> for int8 codes or <see cref="byte"/> for uint8 codes; no other type.</typeparam>
public sealed class ScalarQuantizedMatrix<T>
    where T : unmanaged, IBinaryInteger<T>
{
    /// <summary>Wraps codes (for example read from storage) without copying; do not change the buffer afterwards.</summary>
    /// <param name="values">The codes, row-major; the length must be a multiple of the ranges' dimensions (0 allowed).</param>
    /// <param name="ranges">The calibration the codes were made with.</param>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="sbyte"/> nor <see cref="byte"/>.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="ranges"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The length is not a multiple of the dimensions, or the dimensions exceed <see cref="MaxDimensions"/>.
    /// </exception>
    public ScalarQuantizedMatrix(ReadOnlyMemory<T> values, QuantizationRanges ranges)
    {
        if (typeof(T) != typeof(sbyte) && typeof(T) != typeof(byte))
        {
            throw new NotSupportedException($"Scalar quantization codes are sbyte (int8) or byte (uint8), not {typeof(T).Name}.");
        }

        ArgumentNullException.ThrowIfNull(ranges);
        int dimensions = ranges.Dimensions;
        if (dimensions > MaxDimensions)
        {
            throw new ArgumentException(
                $"{dimensions} dimensions exceed the {MaxDimensions} whose {typeof(T).Name} dot products fit an int.", nameof(ranges));
        }

        if (values.Length % dimensions != 0)
        {
            throw new ArgumentException($"The buffer's length {values.Length} is not a multiple of the row length {dimensions}.", nameof(values));
        }

        Values = values;
        Ranges = ranges;
        Dimensions = dimensions;
        RowCount = values.Length / dimensions;
    }

    /// <summary>
    /// The most dimensions whose dot products cannot overflow <see cref="int"/>: 131 071 for int8 (each product is at
    /// most 128² = 16 384) and 33 025 for uint8 (255² = 65 025).
    /// </summary>
    public static int MaxDimensions => typeof(T) == typeof(sbyte) ? int.MaxValue / (128 * 128) : int.MaxValue / (255 * 255);

    /// <summary>The number of rows.</summary>
    public int RowCount { get; }

    /// <summary>The codes per row (<see cref="Ranges"/>' dimensions).</summary>
    public int Dimensions { get; }

    /// <summary>The calibration the codes were made with.</summary>
    public QuantizationRanges Ranges { get; }

    /// <summary>All codes, row-major.</summary>
    public ReadOnlyMemory<T> Values { get; }

    /// <summary>One row's codes.</summary>
    /// <param name="index">The row index, 0 ≤ <paramref name="index"/> &lt; <see cref="RowCount"/>.</param>
    /// <returns>The row.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    public ReadOnlySpan<T> Row(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, RowCount);
        return Values.Span.Slice(index * Dimensions, Dimensions);
    }
}
