namespace LastTokenEmbeddings.Checkpoints.Safetensors;

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="Name">The tensor's name (its key in the header).</param>
/// <param name="DType">The element type.</param>
/// <param name="Shape">The dimensions, outermost first; empty for a scalar.</param>
/// <param name="DataBegin">Offset of the first byte, relative to the start of the data section (as in the header).</param>
/// <param name="DataEnd">Offset one past the last byte, relative to the start of the data section.</param>
internal sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, IReadOnlyList<long> Shape, long DataBegin, long DataEnd)
{
    /// <summary>The number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
    /// <exception cref="OverflowException">The product does not fit in 64 bits.</exception>
    public long ElementCount { get; } = Product(Shape);

    /// <summary>The number of data bytes, <see cref="DataEnd"/> − <see cref="DataBegin"/>.</summary>
    public long ByteLength => DataEnd - DataBegin;

    private static long Product(IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (var dim in shape)
        {
            count = checked(count * dim);
        }
        return count;
    }
}
