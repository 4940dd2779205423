using System.Collections.ObjectModel;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Checkpoints.Safetensors;

/// <summary>
/// A validated, memory-mapped safetensors file. <see cref="Open"/> checks the whole header against the
/// file (as strictly as the reference Rust implementation) before mapping anything; <see cref="Read"/>
/// then returns tensors that are views over the mapping, without copying, whenever the data is aligned.
/// </summary>
/// <remarks>
/// <para>
/// The mapping is private (copy-on-write): writing into a returned tensor never changes the file, but is
/// seen by other tensors read from the same file, so treat them as read-only. Returned tensors keep the
/// mapping alive on their own, so disposing this object while they are in use is safe.
/// </para>
/// <para>
/// The header is validated through an open handle and the file is then mapped by path; the mapped bytes are
/// compared with the validated ones (the header and the file's last bytes), so a file replaced or rewritten in
/// between is refused. A file must not be modified or truncated while it is loaded: pages of a truncated mapping
/// raise SIGBUS when read, which no managed code can catch.
/// </para>
/// </remarks>
internal sealed class SafetensorsFile : IDisposable
{
    private readonly SafetensorsHeader _header;
    private readonly Dictionary<ScalarType, Tensor> _typedMaps;
    private Tensor? _byteMap;
    private bool _disposed;

    private SafetensorsFile(string path, long fileLength, SafetensorsHeader header, Tensor? byteMap, Dictionary<ScalarType, Tensor> typedMaps)
    {
        FilePath = path;
        FileLength = fileLength;
        _header = header;
        _byteMap = byteMap;
        _typedMaps = typedMaps;
        var tensors = new Dictionary<string, SafetensorsTensorInfo>(header.Tensors.Count, StringComparer.Ordinal);
        foreach (var info in header.Tensors)
        {
            tensors.Add(info.Name, info);
        }
        Tensors = new ReadOnlyDictionary<string, SafetensorsTensorInfo>(tensors);
    }

    /// <summary>The full path of the file.</summary>
    public string FilePath { get; }

    /// <summary>The size of the file, in bytes.</summary>
    public long FileLength { get; }

    /// <summary>The length N of the JSON header; tensor data starts at byte 8 + N.</summary>
    public long HeaderLength => _header.HeaderLength;

    /// <summary>The tensors in the file by name, in order of their data (the <c>__metadata__</c> entry excluded).</summary>
    public IReadOnlyDictionary<string, SafetensorsTensorInfo> Tensors { get; }

    /// <summary>The header's <c>__metadata__</c> entries; empty if it has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata => _header.Metadata;

    /// <summary>Test hook: runs between validating the header and mapping the file (to replace the file there).</summary>
    internal static Action<string>? BeforeMapping { get; set; }

    /// <summary>Validates the file at <paramref name="path"/> completely, then memory-maps it.</summary>
    /// <param name="path">The safetensors file.</param>
    /// <returns>The open file; dispose it when done.</returns>
    /// <exception cref="CheckpointException">The file is missing, unreadable or malformed.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = Path.GetFullPath(path);

        try
        {
            // The handle stays open while mapping, so the bytes it reads can be compared with the mapping's.
            using var handle = File.OpenHandle(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read);
            var fileLength = RandomAccess.GetLength(handle);
            var header = SafetensorsHeader.Read(fullPath, handle, fileLength);
            BeforeMapping?.Invoke(fullPath);
            var file = Map(fullPath, fileLength, header);
            try
            {
                file.VerifyMappingMatches(handle);
                return file;
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SafetensorsFormatException(fullPath, "file not found", innerException: ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SafetensorsFormatException(fullPath, $"cannot read the file: {ex.Message}", innerException: ex);
        }
    }

    /// <summary>
    /// Checks that every mapping shows the bytes read through <paramref name="handle"/>: the header and the last
    /// bytes of the file, and that the file still has the validated length.
    /// </summary>
    private void VerifyMappingMatches(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        if (RandomAccess.GetLength(handle) != FileLength)
            throw new SafetensorsFormatException(FilePath, "the file changed size while it was being opened; files must not be modified while loaded");
        var maps = _typedMaps.Values.Append(_byteMap).OfType<Tensor>().ToList();
        foreach (var map in maps)
        {
            var mappedBytes = map.shape[0] * map.ElementSize;
            var elementSize = map.ElementSize;
            var headLength = Math.Min(_header.DataStart, mappedBytes) / elementSize * elementSize;
            var tailLength = Math.Min(64 * 1024, mappedBytes - headLength) / elementSize * elementSize;
            Compare(map, handle, 0, headLength);
            Compare(map, handle, mappedBytes - tailLength, tailLength);
        }
    }

    private void Compare(Tensor map, Microsoft.Win32.SafeHandles.SafeFileHandle handle, long offset, long length)
    {
        if (length <= 0)
            return;
        var elementSize = map.ElementSize;
        using var window = map.narrow(0, offset / elementSize, length / elementSize);
        var mapped = window.bytes;
        var read = new byte[mapped.Length];
        if (RandomAccess.Read(handle, read, offset) != read.Length || !mapped.SequenceEqual(read))
            throw new SafetensorsFormatException(FilePath, "the mapped file differs from the validated one (replaced or rewritten while opening); files must not be modified while loaded");
    }

    private static SafetensorsFile Map(string path, long fileLength, SafetensorsHeader header)
    {
        var dataStart = header.DataStart;
        var scalarTypes = new HashSet<ScalarType>();
        var anyUnaligned = false;
        foreach (var info in header.Tensors)
        {
            if (info.ByteLength == 0 || info.DType.ToScalarType() is not { } scalarType)
            {
                continue;
            }
            if ((dataStart + info.DataBegin) % info.DType.ByteSize() == 0)
            {
                scalarTypes.Add(scalarType);
            }
            else
            {
                anyUnaligned = true;
            }
        }

        Tensor? byteMap = null;
        var typedMaps = new Dictionary<ScalarType, Tensor>();
        try
        {
            // The whole file as bytes: the source for unaligned tensors, which must be copied. Only mapped when
            // there are such tensors (a file with no tensor data has none, and from_file cannot map 0 elements).
            if (anyUnaligned)
            {
                byteMap = MapAs(path, fileLength, ScalarType.Byte, 1);
            }
            foreach (var scalarType in scalarTypes)
            {
                // libtorch cannot reinterpret a uint8 tensor as another dtype, so each dtype gets its own
                // private mapping of the same file (shared page cache: no extra memory).
                var size = DTypeSize(scalarType);
                typedMaps.Add(scalarType, MapAs(path, fileLength / size, scalarType, size));
            }
        }
        catch
        {
            byteMap?.Dispose();
            foreach (var map in typedMaps.Values)
            {
                map.Dispose();
            }
            throw;
        }

        return new SafetensorsFile(path, fileLength, header, byteMap, typedMaps);
    }

    private static Tensor MapAs(string path, long elements, ScalarType scalarType, int elementSize)
    {
        try
        {
            return from_file(path, shared: false, size: elements, dtype: scalarType).DetachFromDisposeScope();
        }
        catch (ExternalException ex)
        {
            throw new SafetensorsFormatException(path, $"cannot memory-map {elements * elementSize} bytes of the file: {FirstLine(ex.Message)}", innerException: ex);
        }
    }

    /// <summary>
    /// Reads one tensor: a CPU tensor with the stored dtype and shape. It is a view over the memory-mapped
    /// file when the data is aligned to its element size, otherwise a copy. The caller owns (disposes) it.
    /// </summary>
    /// <param name="name">The tensor's name.</param>
    /// <returns>The tensor.</returns>
    /// <exception cref="CheckpointException">There is no tensor <paramref name="name"/>, or its dtype has no TorchSharp equivalent.</exception>
    /// <exception cref="ObjectDisposedException">This file has been disposed.</exception>
    public Tensor Read(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!Tensors.TryGetValue(name, out var info))
        {
            throw new SafetensorsFormatException(FilePath, "no such tensor in the file", name);
        }
        if (info.DType.ToScalarType() is not { } scalarType)
        {
            throw new SafetensorsFormatException(FilePath, $"dtype {info.DType.ToHeaderName()} has no TorchSharp equivalent and cannot be read", name);
        }

        var shape = info.Shape.ToArray();
        if (info.ByteLength == 0)
        {
            return empty(shape, scalarType);
        }

        var elementSize = info.DType.ByteSize();
        var absolute = _header.DataStart + info.DataBegin;
        if (_typedMaps.TryGetValue(scalarType, out var typed) && absolute % elementSize == 0)
        {
            return typed.as_strided(shape, ContiguousStrides(shape), absolute / elementSize);
        }
        return CopyUnaligned(info, scalarType, shape, absolute);
    }

    /// <summary>
    /// Drops the resident pages of <paramref name="name"/>'s data from this process, once the tensor has been copied
    /// (converted to another dtype): loading converts tensor by tensor, so without this every converted tensor's mapped
    /// pages would stay resident beside its copy until the file is closed, doubling the load's peak. The mapping is
    /// private and read-only in use, so the pages are simply read again from the file if ever touched. Only whole pages
    /// inside the tensor are dropped; Linux only (elsewhere nothing is done).
    /// </summary>
    /// <param name="name">A tensor name.</param>
    public void ReleasePages(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!OperatingSystem.IsLinux() || !Tensors.TryGetValue(name, out var info) || info.ByteLength == 0 || info.DType.ToScalarType() is not { } scalarType)
            return;
        var elementSize = info.DType.ByteSize();
        var absolute = _header.DataStart + info.DataBegin;
        if (!_typedMaps.TryGetValue(scalarType, out var typed) || absolute % elementSize != 0)
            return;
        const long pageSize = 4096;
        // Span lengths are int-sized: release in chunks of at most 1 GiB of whole elements.
        var chunkElements = (1L << 30) / elementSize;
        for (long element = 0; element < info.ElementCount; element += chunkElements)
        {
            var count = Math.Min(chunkElements, info.ElementCount - element);
            using var window = typed.narrow(0, absolute / elementSize + element, count);
            unsafe
            {
                fixed (byte* start = window.bytes)
                {
                    var first = ((long)start + pageSize - 1) / pageSize * pageSize;
                    var last = ((long)start + count * elementSize) / pageSize * pageSize;
                    if (last > first)
                        _ = NativeMethods.madvise((IntPtr)first, (UIntPtr)(ulong)(last - first), NativeMethods.MadviseDontNeed);
                }
            }
        }
    }

    private static class NativeMethods
    {
        public const int MadviseDontNeed = 4;

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int madvise(IntPtr address, UIntPtr length, int advice);
    }

    private Tensor CopyUnaligned(SafetensorsTensorInfo info, ScalarType scalarType, long[] shape, long absolute)
    {
        var byteMap = _byteMap!;
        var elementSize = info.DType.ByteSize();
        var result = empty(shape, scalarType);
        try
        {
            using var flat = result.view(-1);
            // Spans are int-sized: copy in chunks of whole elements.
            var chunkElements = (1L << 30) / elementSize;
            for (long element = 0; element < info.ElementCount; element += chunkElements)
            {
                var count = Math.Min(chunkElements, info.ElementCount - element);
                using var source = byteMap.narrow(0, absolute + (element * elementSize), count * elementSize);
                using var target = flat.narrow(0, element, count);
                source.bytes.CopyTo(target.bytes);
            }
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    private static long[] ContiguousStrides(long[] shape)
    {
        var strides = new long[shape.Length];
        long stride = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = stride;
            stride *= shape[i];
        }
        return strides;
    }

    private static int DTypeSize(ScalarType scalarType) =>
        SafetensorsDTypeExtensions.TryFromScalarType(scalarType, out var dtype) ? dtype.ByteSize() : throw new ArgumentOutOfRangeException(nameof(scalarType));

    private static string FirstLine(string message)
    {
        var newline = message.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? message : message[..newline];
    }

    /// <summary>Releases the file's own references to the mapping; tensors already read stay valid.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _byteMap?.Dispose();
        _byteMap = null;
        foreach (var map in _typedMaps.Values)
        {
            map.Dispose();
        }
        _typedMaps.Clear();
    }
}
