using static TorchSharp.torch;

namespace LastTokenEmbeddings.Checkpoints.Safetensors;

/// <summary>
/// The element types a safetensors file can declare, in the order the reference implementation
/// ranks them (increasing alignment). The header spells them as the member names, except
/// <see cref="Bool"/>, which the header spells <c>BOOL</c>.
/// </summary>
/// <remarks>
/// The 8-bit (and smaller) float types of newer safetensors versions (<c>F8_E4M3</c>, <c>F8_E5M2</c>, ...)
/// are recognised by the reader but rejected as unsupported, since TorchSharp has no type for them.
/// </remarks>
internal enum SafetensorsDType
{
    /// <summary>Boolean, one byte per element (<c>BOOL</c>).</summary>
    Bool,

    /// <summary>Unsigned 8-bit integer.</summary>
    U8,

    /// <summary>Signed 8-bit integer.</summary>
    I8,

    /// <summary>Signed 16-bit integer.</summary>
    I16,

    /// <summary>Unsigned 16-bit integer (no TorchSharp equivalent).</summary>
    U16,

    /// <summary>IEEE half-precision float.</summary>
    F16,

    /// <summary>Brain floating point (bfloat16).</summary>
    BF16,

    /// <summary>Signed 32-bit integer.</summary>
    I32,

    /// <summary>Unsigned 32-bit integer (no TorchSharp equivalent).</summary>
    U32,

    /// <summary>IEEE single-precision float.</summary>
    F32,

    /// <summary>IEEE double-precision float.</summary>
    F64,

    /// <summary>Signed 64-bit integer.</summary>
    I64,

    /// <summary>Unsigned 64-bit integer (no TorchSharp equivalent).</summary>
    U64,
}

/// <summary>Helpers for <see cref="SafetensorsDType"/>: sizes, header spellings and TorchSharp types.</summary>
internal static class SafetensorsDTypeExtensions
{
    /// <summary>The dtype names of newer safetensors versions that this library recognises but cannot load.</summary>
    internal static readonly IReadOnlySet<string> UnsupportedHeaderNames = new HashSet<string>(StringComparer.Ordinal)
    {
        "F8_E5M2", "F8_E4M3", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64",
    };

    /// <summary>The size of one element, in bytes.</summary>
    /// <param name="dtype">The element type.</param>
    /// <returns>1, 2, 4 or 8.</returns>
    public static int ByteSize(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.Bool or SafetensorsDType.U8 or SafetensorsDType.I8 => 1,
        SafetensorsDType.I16 or SafetensorsDType.U16 or SafetensorsDType.F16 or SafetensorsDType.BF16 => 2,
        SafetensorsDType.I32 or SafetensorsDType.U32 or SafetensorsDType.F32 => 4,
        SafetensorsDType.F64 or SafetensorsDType.I64 or SafetensorsDType.U64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype."),
    };

    /// <summary>The spelling of <paramref name="dtype"/> in a safetensors header (<c>BOOL</c>, <c>F32</c>, ...).</summary>
    /// <param name="dtype">The element type.</param>
    /// <returns>The header string.</returns>
    public static string ToHeaderName(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.Bool => "BOOL",
        _ when Enum.IsDefined(dtype) => dtype.ToString(),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype."),
    };

    /// <summary>Parses a header dtype string exactly (case-sensitive), as the reference implementation does.</summary>
    /// <param name="headerName">The string from the header, e.g. <c>BF16</c>.</param>
    /// <param name="dtype">The parsed type, when the result is <see langword="true"/>.</param>
    /// <returns>Whether <paramref name="headerName"/> names a supported dtype.</returns>
    public static bool TryParseHeaderName(string headerName, out SafetensorsDType dtype)
    {
        ArgumentNullException.ThrowIfNull(headerName);
        switch (headerName)
        {
            case "BOOL": dtype = SafetensorsDType.Bool; return true;
            case "U8": dtype = SafetensorsDType.U8; return true;
            case "I8": dtype = SafetensorsDType.I8; return true;
            case "I16": dtype = SafetensorsDType.I16; return true;
            case "U16": dtype = SafetensorsDType.U16; return true;
            case "F16": dtype = SafetensorsDType.F16; return true;
            case "BF16": dtype = SafetensorsDType.BF16; return true;
            case "I32": dtype = SafetensorsDType.I32; return true;
            case "U32": dtype = SafetensorsDType.U32; return true;
            case "F32": dtype = SafetensorsDType.F32; return true;
            case "F64": dtype = SafetensorsDType.F64; return true;
            case "I64": dtype = SafetensorsDType.I64; return true;
            case "U64": dtype = SafetensorsDType.U64; return true;
            default: dtype = default; return false;
        }
    }

    /// <summary>The TorchSharp element type for <paramref name="dtype"/>, or <see langword="null"/> where TorchSharp has none (U16, U32, U64).</summary>
    /// <param name="dtype">The element type.</param>
    /// <returns>The matching <see cref="ScalarType"/>, or <see langword="null"/>.</returns>
    public static ScalarType? ToScalarType(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.Bool => ScalarType.Bool,
        SafetensorsDType.U8 => ScalarType.Byte,
        SafetensorsDType.I8 => ScalarType.Int8,
        SafetensorsDType.I16 => ScalarType.Int16,
        SafetensorsDType.F16 => ScalarType.Float16,
        SafetensorsDType.BF16 => ScalarType.BFloat16,
        SafetensorsDType.I32 => ScalarType.Int32,
        SafetensorsDType.F32 => ScalarType.Float32,
        SafetensorsDType.F64 => ScalarType.Float64,
        SafetensorsDType.I64 => ScalarType.Int64,
        _ => null,
    };

    /// <summary>The safetensors dtype that stores TorchSharp's <paramref name="scalarType"/>, when there is one.</summary>
    /// <param name="scalarType">The TorchSharp element type.</param>
    /// <param name="dtype">The matching safetensors dtype, when the result is <see langword="true"/>.</param>
    /// <returns>Whether safetensors can store <paramref name="scalarType"/>.</returns>
    public static bool TryFromScalarType(ScalarType scalarType, out SafetensorsDType dtype)
    {
        SafetensorsDType? result = scalarType switch
        {
            ScalarType.Bool => SafetensorsDType.Bool,
            ScalarType.Byte => SafetensorsDType.U8,
            ScalarType.Int8 => SafetensorsDType.I8,
            ScalarType.Int16 => SafetensorsDType.I16,
            ScalarType.Float16 => SafetensorsDType.F16,
            ScalarType.BFloat16 => SafetensorsDType.BF16,
            ScalarType.Int32 => SafetensorsDType.I32,
            ScalarType.Float32 => SafetensorsDType.F32,
            ScalarType.Float64 => SafetensorsDType.F64,
            ScalarType.Int64 => SafetensorsDType.I64,
            _ => null,
        };
        dtype = result.GetValueOrDefault();
        return result.HasValue;
    }
}
