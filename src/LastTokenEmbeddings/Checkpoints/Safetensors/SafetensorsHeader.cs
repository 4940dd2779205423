using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace LastTokenEmbeddings.Checkpoints.Safetensors;

/// <summary>
/// A parsed and fully validated safetensors header. Validation follows the reference Rust
/// <c>safetensors</c> crate; every failure is a <see cref="SafetensorsFormatException"/>.
/// </summary>
internal sealed class SafetensorsHeader
{
    /// <summary>The largest header the reference implementation accepts.</summary>
    public const long MaxHeaderLength = 100_000_000;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private SafetensorsHeader(long headerLength, IReadOnlyList<SafetensorsTensorInfo> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        HeaderLength = headerLength;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>N, the length of the JSON header in bytes; the data section starts at byte 8 + N.</summary>
    public long HeaderLength { get; }

    /// <summary>The data section's absolute offset in the file.</summary>
    public long DataStart => 8 + HeaderLength;

    /// <summary>The tensors, in order of their data offsets.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>The <c>__metadata__</c> entries, empty when there are none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Reads and validates the header of an open file of <paramref name="fileLength"/> bytes.</summary>
    public static SafetensorsHeader Read(string path, SafeFileHandle handle, long fileLength)
    {
        if (fileLength < 8)
        {
            throw Fail(path, $"file is {fileLength} bytes long, too short to be a safetensors file (at least 8 bytes are needed for the header length)");
        }

        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(path, handle, prefix, 0);
        var declared = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (declared > MaxHeaderLength)
        {
            throw Fail(path, $"header length {declared} exceeds the limit of {MaxHeaderLength} bytes");
        }
        var headerLength = (long)declared;
        if (headerLength > fileLength - 8)
        {
            throw Fail(path, $"header length {headerLength} runs past the end of the file ({fileLength} bytes, so at most {fileLength - 8} bytes of header)");
        }

        // Only now is headerLength known to be bounded by both the file and the 100 MB limit.
        var headerBytes = new byte[headerLength];
        ReadExactly(path, handle, headerBytes, 8);
        return Parse(path, headerBytes, fileLength);
    }

    /// <summary>Validates header bytes <paramref name="headerBytes"/> of a file of <paramref name="fileLength"/> bytes.</summary>
    public static SafetensorsHeader Parse(string path, byte[] headerBytes, long fileLength)
    {
        try
        {
            _ = StrictUtf8.GetCharCount(headerBytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw Fail(path, $"header is not valid UTF-8 (invalid byte sequence at header offset {ex.Index})", inner: ex);
        }

        var firstNonSpace = Array.FindIndex(headerBytes, b => b is not ((byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r'));
        if (firstNonSpace < 0 || headerBytes[firstNonSpace] != (byte)'{')
        {
            throw Fail(path, "header is not a JSON object (it must start with '{')");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(headerBytes);
        }
        catch (JsonException ex)
        {
            throw Fail(path, $"header is not valid JSON: {ex.Message}", inner: ex);
        }

        List<SafetensorsTensorInfo> tensors;
        Dictionary<string, string> metadata;
        using (document)
        {
            try
            {
                (tensors, metadata) = ReadEntries(path, document.RootElement);
            }
            catch (InvalidOperationException ex)
            {
                // Lone surrogate escapes (\uD800) and similar text that JSON allows but UTF-16 strings do not.
                throw Fail(path, $"header is not valid JSON: {ex.Message}", inner: ex);
            }
        }

        var headerLength = (long)headerBytes.Length;
        ValidateLayout(path, tensors, fileLength - 8 - headerLength);
        return new SafetensorsHeader(headerLength, tensors.AsReadOnly(), metadata.AsReadOnly());
    }

    private static (List<SafetensorsTensorInfo> Tensors, Dictionary<string, string> Metadata) ReadEntries(string path, JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Fail(path, "header is not a JSON object");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var tensors = new List<SafetensorsTensorInfo>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            var name = property.Name;
            if (!seen.Add(name))
            {
                throw name == "__metadata__"
                    ? Fail(path, "duplicate key '__metadata__' in header")
                    : Fail(path, "duplicate tensor name in header", name);
            }

            if (name == "__metadata__")
            {
                ReadMetadata(path, property.Value, metadata);
            }
            else
            {
                tensors.Add(ReadTensor(path, name, property.Value));
            }
        }
        return (tensors, metadata);
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return; // The reference implementation reads null as "no metadata".
        }
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Fail(path, $"__metadata__ must be a JSON object mapping strings to strings, not {Describe(value.ValueKind)}");
        }
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw Fail(path, $"__metadata__ must map strings to strings, but key '{entry.Name}' has {Describe(entry.Value.ValueKind)} value");
            }
            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
            {
                throw Fail(path, $"duplicate key '{entry.Name}' in __metadata__");
            }
        }
    }

    private static SafetensorsTensorInfo ReadTensor(string path, string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Fail(path, $"header entry must be a JSON object with dtype, shape and data_offsets, not {Describe(value.ValueKind)}", name);
        }

        JsonElement? dtypeElement = null, shapeElement = null, offsetsElement = null;
        foreach (var field in value.EnumerateObject())
        {
            switch (field.Name)
            {
                case "dtype": SetOnce(ref dtypeElement, field); break;
                case "shape": SetOnce(ref shapeElement, field); break;
                case "data_offsets": SetOnce(ref offsetsElement, field); break;
                default: break; // Unknown fields are ignored, as by the reference implementation.
            }
        }

        void SetOnce(ref JsonElement? slot, JsonProperty field)
        {
            if (slot.HasValue)
            {
                throw Fail(path, $"duplicate field '{field.Name}' in header entry", name);
            }
            slot = field.Value;
        }

        if (dtypeElement is not { } dtypeValue)
        {
            throw Fail(path, "header entry has no 'dtype'", name);
        }
        if (shapeElement is not { } shapeValue)
        {
            throw Fail(path, "header entry has no 'shape'", name);
        }
        if (offsetsElement is not { } offsetsValue)
        {
            throw Fail(path, "header entry has no 'data_offsets'", name);
        }

        if (dtypeValue.ValueKind != JsonValueKind.String)
        {
            throw Fail(path, $"dtype must be a string, not {Describe(dtypeValue.ValueKind)}", name);
        }
        var dtypeName = dtypeValue.GetString()!;
        if (!SafetensorsDTypeExtensions.TryParseHeaderName(dtypeName, out var dtype))
        {
            throw SafetensorsDTypeExtensions.UnsupportedHeaderNames.Contains(dtypeName)
                ? Fail(path, $"dtype '{dtypeName}' is not supported (no TorchSharp equivalent)", name)
                : Fail(path, $"unknown dtype '{Truncate(dtypeName)}'", name);
        }

        if (shapeValue.ValueKind != JsonValueKind.Array)
        {
            throw Fail(path, $"shape must be an array of non-negative integers, not {Describe(shapeValue.ValueKind)}", name);
        }
        var shape = new long[shapeValue.GetArrayLength()];
        var i = 0;
        foreach (var dim in shapeValue.EnumerateArray())
        {
            shape[i] = ReadNonNegative(path, name, dim, $"shape[{i}]");
            i++;
        }

        if (offsetsValue.ValueKind != JsonValueKind.Array || offsetsValue.GetArrayLength() != 2)
        {
            throw Fail(path, "data_offsets must be an array of two non-negative integers [begin, end]", name);
        }
        var begin = ReadNonNegative(path, name, offsetsValue[0], "data_offsets begin");
        var end = ReadNonNegative(path, name, offsetsValue[1], "data_offsets end");
        if (end < begin)
        {
            throw Fail(path, $"data_offsets [{begin}, {end}] end before they begin", name);
        }

        long elementCount = 1;
        long byteCount;
        try
        {
            foreach (var dim in shape)
            {
                elementCount = checked(elementCount * dim);
            }
            byteCount = checked(elementCount * dtype.ByteSize());
        }
        catch (OverflowException ex)
        {
            throw Fail(path, $"shape {FormatShape(shape)} overflows: its size in bytes does not fit in 64 bits", name, ex);
        }

        if (end - begin != byteCount)
        {
            throw Fail(path, $"data_offsets [{begin}, {end}] span {end - begin} bytes, but dtype {dtypeName} with shape {FormatShape(shape)} needs {byteCount} bytes", name);
        }

        return new SafetensorsTensorInfo(name, dtype, Array.AsReadOnly(shape), begin, end);
    }

    private static long ReadNonNegative(string path, string name, JsonElement element, string what)
    {
        if (element.ValueKind != JsonValueKind.Number)
        {
            throw Fail(path, $"{what} must be a non-negative integer, not {Describe(element.ValueKind)}", name);
        }
        if (!element.TryGetInt64(out var value))
        {
            var raw = Truncate(element.GetRawText());
            throw element.TryGetDecimal(out var d) && d == decimal.Truncate(d) && d > 0
                ? Fail(path, $"{what} {raw} is too large", name)
                : Fail(path, $"{what} must be a non-negative integer, not {raw}", name);
        }
        if (value < 0)
        {
            throw Fail(path, $"{what} must be a non-negative integer, not {value}", name);
        }
        return value;
    }

    /// <summary>
    /// Checks that the tensors, sorted by offset, tile the data section exactly: contiguous from 0,
    /// no gaps, no overlaps, ending exactly at the end of the file. Sorts <paramref name="tensors"/>.
    /// </summary>
    private static void ValidateLayout(string path, List<SafetensorsTensorInfo> tensors, long dataLength)
    {
        tensors.Sort(static (a, b) =>
        {
            var c = a.DataBegin.CompareTo(b.DataBegin);
            if (c == 0)
            {
                c = a.DataEnd.CompareTo(b.DataEnd);
            }
            return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
        });

        long expected = 0;
        SafetensorsTensorInfo? previous = null;
        foreach (var tensor in tensors)
        {
            if (tensor.DataBegin > expected)
            {
                throw Fail(path, previous is null
                    ? $"gap in the data section: the first tensor's data begins at byte {tensor.DataBegin}, not 0"
                    : $"gap in the data section: data begins at byte {tensor.DataBegin}, but the previous tensor '{previous.Name}' ends at byte {expected}", tensor.Name);
            }
            if (tensor.DataBegin < expected)
            {
                throw Fail(path, $"data [{tensor.DataBegin}, {tensor.DataEnd}] overlaps tensor '{previous!.Name}', which ends at byte {expected}", tensor.Name);
            }
            expected = tensor.DataEnd;
            previous = tensor;
        }

        if (expected > dataLength)
        {
            throw Fail(path, $"data ends at byte {expected} of the data section, past the end of the file (the data section has {dataLength} bytes)", previous!.Name);
        }
        if (expected < dataLength)
        {
            throw Fail(path, $"{dataLength - expected} trailing bytes after the last tensor's data (tensors cover {expected} of the data section's {dataLength} bytes)");
        }
    }

    private static void ReadExactly(string path, SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var n = RandomAccess.Read(handle, buffer[done..], offset + done);
            if (n == 0)
            {
                throw Fail(path, $"unexpected end of file at byte {offset + done} (was the file truncated while being read?)");
            }
            done += n;
        }
    }

    internal static string FormatShape(IReadOnlyList<long> shape) =>
        "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };

    private static string Truncate(string s) => s.Length <= 64 ? s : string.Concat(s.AsSpan(0, 64), "...");

    internal static SafetensorsFormatException Fail(string path, string message, string? tensorName = null, Exception? inner = null) =>
        new(path, message, tensorName, inner);
}
