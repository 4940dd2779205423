using System.Collections;
using Microsoft.Extensions.AI;

namespace LastTokenEmbeddings.Quantization;

/// <summary>
/// Binary-quantized embeddings: one bit per dimension (set when the value is &gt; 0), each row packed into
/// <see cref="BytesPerRow"/> = ⌈<see cref="Dimensions"/> / 8⌉ bytes most significant bit first, exactly as numpy's
/// <c>np.packbits(embeddings &gt; 0, axis=-1)</c> and sentence-transformers' <c>ubinary</c> precision. The padding bits
/// of a last, partial byte are 0.
/// </summary>
public sealed class BinaryQuantizedMatrix
{
    /// <summary>Wraps packed rows (for example read from storage) without copying; do not change the buffer afterwards.</summary>
    /// <param name="packedRows">The rows, each ⌈<paramref name="dimensions"/> / 8⌉ bytes, most significant bit first.</param>
    /// <param name="dimensions">Bits per row, at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimensions"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">
    /// The length is not a multiple of the bytes per row, or a row's padding bits are not 0 (they would count in
    /// Hamming distances).
    /// </exception>
    public BinaryQuantizedMatrix(ReadOnlyMemory<byte> packedRows, int dimensions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimensions, 1);
        int bytesPerRow = (dimensions + 7) / 8;
        if (packedRows.Length % bytesPerRow != 0)
        {
            throw new ArgumentException(
                $"The buffer's length {packedRows.Length} is not a multiple of the {bytesPerRow} bytes that hold {dimensions} bits.", nameof(packedRows));
        }

        Values = packedRows;
        Dimensions = dimensions;
        BytesPerRow = bytesPerRow;
        RowCount = packedRows.Length / bytesPerRow;
        byte paddingMask = PaddingMask(dimensions);
        if (paddingMask != 0)
        {
            ReadOnlySpan<byte> span = packedRows.Span;
            for (int i = 0; i < RowCount; i++)
            {
                if ((span[((i + 1) * bytesPerRow) - 1] & paddingMask) != 0)
                {
                    throw new ArgumentException($"Row {i}'s padding bits (after bit {dimensions - 1}) are not 0.", nameof(packedRows));
                }
            }
        }
    }

    /// <summary>The number of rows.</summary>
    public int RowCount { get; }

    /// <summary>Bits per row: the dimensions of the embeddings that were quantized.</summary>
    public int Dimensions { get; }

    /// <summary>Bytes per row, ⌈<see cref="Dimensions"/> / 8⌉.</summary>
    public int BytesPerRow { get; }

    /// <summary>All packed rows, row-major.</summary>
    public ReadOnlyMemory<byte> Values { get; }

    /// <summary>One packed row.</summary>
    /// <param name="index">The row index, 0 ≤ <paramref name="index"/> &lt; <see cref="RowCount"/>.</param>
    /// <returns>The row's <see cref="BytesPerRow"/> bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    public ReadOnlySpan<byte> Row(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, RowCount);
        return Values.Span.Slice(index * BytesPerRow, BytesPerRow);
    }

    /// <summary>Whether dimension <paramref name="dimension"/> of row <paramref name="row"/> is set (its value was &gt; 0).</summary>
    /// <param name="row">The row index.</param>
    /// <param name="dimension">The dimension, 0 ≤ <paramref name="dimension"/> &lt; <see cref="Dimensions"/>.</param>
    /// <returns>The bit.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An index is out of range.</exception>
    public bool Bit(int row, int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dimension);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(dimension, Dimensions);
        return (Row(row)[dimension >> 3] & (0x80 >> (dimension & 7))) != 0;
    }

    /// <summary>
    /// One row as a Microsoft.Extensions.AI <see cref="BinaryEmbedding"/>, whose <see cref="BinaryEmbedding.Vector"/>
    /// holds dimension i at index i (so its JSON form, a string of '0'/'1' in index order, reads like the bits here).
    /// Note that <c>new BitArray(byte[])</c> would not do: it takes each byte's least significant bit first.
    /// </summary>
    /// <param name="row">The row index.</param>
    /// <returns>A new embedding with <see cref="Dimensions"/> bits.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is out of range.</exception>
    public BinaryEmbedding ToBinaryEmbedding(int row)
    {
        ReadOnlySpan<byte> packed = Row(row);
        var bits = new BitArray(Dimensions);
        for (int d = 0; d < Dimensions; d++)
        {
            bits[d] = (packed[d >> 3] & (0x80 >> (d & 7))) != 0;
        }

        return new BinaryEmbedding(bits);
    }

    /// <summary>Packs Microsoft.Extensions.AI binary embeddings (index i = dimension i) into a matrix.</summary>
    /// <param name="embeddings">The embeddings, all of the same, non-zero number of dimensions (at least one embedding).</param>
    /// <returns>The packed matrix.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="embeddings"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The list is empty, an embedding is <see langword="null"/> or empty, or the dimensions differ.</exception>
    public static BinaryQuantizedMatrix FromBinaryEmbeddings(IReadOnlyList<BinaryEmbedding> embeddings)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        if (embeddings.Count == 0)
        {
            throw new ArgumentException("There are no embeddings (the dimensions would be unknown).", nameof(embeddings));
        }

        int dimensions = embeddings[0]?.Vector.Length ?? 0;
        for (int i = 0; i < embeddings.Count; i++)
        {
            int length = embeddings[i]?.Vector.Length ?? throw new ArgumentException($"Embedding {i} is null.", nameof(embeddings));
            if (length == 0)
            {
                throw new ArgumentException($"Embedding {i} is empty.", nameof(embeddings));
            }

            if (length != dimensions)
            {
                throw new ArgumentException($"Embedding {i} has {length} dimensions, expected {dimensions}.", nameof(embeddings));
            }
        }

        int bytesPerRow = (dimensions + 7) / 8;
        var packed = new byte[checked(embeddings.Count * bytesPerRow)];
        for (int i = 0; i < embeddings.Count; i++)
        {
            BitArray bits = embeddings[i].Vector;
            Span<byte> row = packed.AsSpan(i * bytesPerRow, bytesPerRow);
            for (int d = 0; d < dimensions; d++)
            {
                if (bits[d])
                {
                    row[d >> 3] |= (byte)(0x80 >> (d & 7));
                }
            }
        }

        return new BinaryQuantizedMatrix(packed, dimensions);
    }

    /// <summary>The bits of a row's last byte that lie past the last dimension (0 when the dimensions fill it).</summary>
    internal static byte PaddingMask(int dimensions) => (byte)((1 << ((8 - (dimensions & 7)) & 7)) - 1);
}
