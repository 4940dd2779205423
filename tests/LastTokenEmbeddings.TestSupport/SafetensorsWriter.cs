using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Checkpoints.Safetensors;

namespace LastTokenEmbeddings.TestSupport;

/// <summary>
/// Writes safetensors files laid out exactly as the reference implementation lays them out, so that
/// every tensor's data is aligned to its element size and <see cref="SafetensorsFile.Read"/> can map it
/// without copying.
/// </summary>
internal static class SafetensorsWriter
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/> (replacing any existing file). Tensors are
    /// stored contiguous, little-endian, sorted by descending dtype alignment then by name (byte order of the
    /// UTF-8 names); the JSON header is padded with spaces to a multiple of 8 bytes.
    /// </summary>
    /// <param name="path">The file to write.</param>
    /// <param name="tensors">The tensors by name; any device, any layout.</param>
    /// <param name="metadata">Entries for the header's <c>__metadata__</c>; omitted when <see langword="null"/>.</param>
    /// <exception cref="CheckpointException">A name is repeated or reserved, a dtype cannot be stored, or the file cannot be written.</exception>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var fullPath = Path.GetFullPath(path);

        var entries = new List<Entry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            ArgumentNullException.ThrowIfNull(name, nameof(tensors));
            ArgumentNullException.ThrowIfNull(tensor, nameof(tensors));
            if (name == "__metadata__")
            {
                throw new SafetensorsFormatException(fullPath, "'__metadata__' is reserved and cannot name a tensor", name);
            }
            if (!names.Add(name))
            {
                throw new SafetensorsFormatException(fullPath, "tensor name given more than once", name);
            }
            if (!SafetensorsDTypeExtensions.TryFromScalarType(tensor.dtype, out var dtype))
            {
                throw new SafetensorsFormatException(fullPath, $"TorchSharp dtype {tensor.dtype} cannot be stored in safetensors", name);
            }
            entries.Add(new Entry(name, Utf8(fullPath, name, name), dtype, tensor, checked(tensor.numel() * dtype.ByteSize())));
        }

        // Descending dtype (the reference's alignment order), then name by UTF-8 bytes, as the reference does.
        entries.Sort(static (a, b) =>
        {
            var c = b.DType.CompareTo(a.DType);
            return c != 0 ? c : a.NameUtf8.AsSpan().SequenceCompareTo(b.NameUtf8);
        });

        var header = BuildHeader(fullPath, entries, metadata);
        WriteFile(fullPath, header, entries);
    }

    private static byte[] BuildHeader(string path, List<Entry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new StringBuilder("{");
        var first = true;
        if (metadata is not null)
        {
            json.Append("\"__metadata__\":{");
            var firstEntry = true;
            foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                ArgumentNullException.ThrowIfNull(value, nameof(metadata));
                if (!firstEntry)
                {
                    json.Append(',');
                }
                firstEntry = false;
                AppendString(json, key);
                json.Append(':');
                AppendString(json, value);
            }
            json.Append('}');
            first = false;
        }

        long offset = 0;
        foreach (var entry in entries)
        {
            if (!first)
            {
                json.Append(',');
            }
            first = false;
            AppendString(json, entry.Name);
            json.Append(":{\"dtype\":\"").Append(entry.DType.ToHeaderName()).Append("\",\"shape\":[");
            json.AppendJoin(',', entry.Tensor.shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
            var end = checked(offset + entry.ByteLength);
            json.Append("],\"data_offsets\":[").Append(offset.ToString(CultureInfo.InvariantCulture))
                .Append(',').Append(end.ToString(CultureInfo.InvariantCulture)).Append("]}");
            offset = end;
        }
        json.Append('}');

        var bytes = Utf8(path, json.ToString(), tensorName: null);
        var padded = (bytes.Length + 7) / 8 * 8;
        if (padded > SafetensorsHeader.MaxHeaderLength)
        {
            throw new SafetensorsFormatException(path, $"header would be {padded} bytes, over the limit of {SafetensorsHeader.MaxHeaderLength} bytes");
        }
        var result = new byte[padded];
        bytes.CopyTo(result, 0);
        result.AsSpan(bytes.Length).Fill((byte)' ');
        return result;
    }

    /// <summary>Appends a JSON string literal escaped as serde_json escapes it.</summary>
    private static void AppendString(StringBuilder json, string value)
    {
        json.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\b': json.Append("\\b"); break;
                case '\f': json.Append("\\f"); break;
                case '\n': json.Append("\\n"); break;
                case '\r': json.Append("\\r"); break;
                case '\t': json.Append("\\t"); break;
                case < ' ': json.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture)); break;
                default: json.Append(c); break;
            }
        }
        json.Append('"');
    }

    private static void WriteFile(string path, byte[] header, List<Entry> entries)
    {
        var temporary = path + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Span<byte> prefix = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
                stream.Write(prefix);
                stream.Write(header);
                foreach (var entry in entries)
                {
                    WriteData(stream, entry);
                }
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw new SafetensorsFormatException(path, $"cannot write the file: {ex.Message}", innerException: ex);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    private static void WriteData(FileStream stream, Entry entry)
    {
        if (entry.ByteLength == 0)
        {
            return;
        }
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Writing safetensors requires a little-endian machine.");
        }

        var cpuCopy = entry.Tensor.device_type == DeviceType.CPU ? null : entry.Tensor.cpu();
        try
        {
            using var contiguous = (cpuCopy ?? entry.Tensor).contiguous();
            using var flat = contiguous.reshape(-1);
            var elementSize = entry.DType.ByteSize();
            var chunkElements = (64L << 20) / elementSize;
            var count = flat.shape[0];
            for (long element = 0; element < count; element += chunkElements)
            {
                using var chunk = flat.narrow(0, element, Math.Min(chunkElements, count - element));
                stream.Write(chunk.bytes);
            }
        }
        finally
        {
            cpuCopy?.Dispose();
        }
    }

    private static byte[] Utf8(string path, string text, string? tensorName)
    {
        try
        {
            return StrictUtf8.GetBytes(text);
        }
        catch (EncoderFallbackException ex)
        {
            throw new SafetensorsFormatException(path, "text is not valid UTF-16 (unpaired surrogate) and cannot be written as UTF-8", tensorName, ex);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort.
        }
        catch (UnauthorizedAccessException)
        {
            // Best effort.
        }
    }

    private sealed record Entry(string Name, byte[] NameUtf8, SafetensorsDType DType, Tensor Tensor, long ByteLength);
}
