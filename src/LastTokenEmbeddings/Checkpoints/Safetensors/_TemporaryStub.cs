// TEMPORARY: replaced by the real reader on merge.
#pragma warning disable CS1591
using System.Text.Json;
using static TorchSharp.torch;
namespace LastTokenEmbeddings.Checkpoints.Safetensors;
public enum SafetensorsDType { Bool, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 }
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, IReadOnlyList<long> Shape, long DataBegin, long DataEnd);
public sealed class SafetensorsFile : IDisposable
{
    private ShardedCheckpoint inner = null!;
    public static SafetensorsFile Open(string path) => new() { inner = ShardedCheckpoint.OpenFiles([path]) };
    public IReadOnlyDictionary<string, SafetensorsTensorInfo> Tensors => inner.TensorNames.ToDictionary(n => n, n => inner.GetInfo(n));
    public Tensor Read(string name) => inner.Read(name);
    public void Dispose() { }
}
public sealed class ShardedCheckpoint : IDisposable
{
    private readonly Dictionary<string, (string file, SafetensorsTensorInfo info, long dataStart)> map = new();
    public static ShardedCheckpoint Open(string directory)
    {
        var files = File.Exists(Path.Combine(directory, "model.safetensors")) ? new[] { Path.Combine(directory, "model.safetensors") }
            : JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "model.safetensors.index.json"))).RootElement.GetProperty("weight_map").EnumerateObject().Select(p => Path.Combine(directory, p.Value.GetString()!)).Distinct().ToArray();
        return OpenFiles(files);
    }
    public static ShardedCheckpoint OpenFiles(string[] files)
    {
        var c = new ShardedCheckpoint();
        foreach (var f in files)
        {
            var bytes = File.ReadAllBytes(f);
            var n = (int)BitConverter.ToInt64(bytes, 0);
            var root = JsonDocument.Parse(bytes.AsMemory(8, n)).RootElement;
            foreach (var p in root.EnumerateObject())
            {
                if (p.Name == "__metadata__") continue;
                var offs = p.Value.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
                c.map[p.Name] = (f, new SafetensorsTensorInfo(p.Name, Enum.Parse<SafetensorsDType>(p.Value.GetProperty("dtype").GetString()!), p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray(), offs[0], offs[1]), 8 + n);
            }
        }
        c.Files = files; c.TotalBytes = files.Sum(f => new FileInfo(f).Length);
        return c;
    }
    public IReadOnlyCollection<string> TensorNames => map.Keys;
    public IReadOnlyList<string> Files { get; private set; } = [];
    public long TotalBytes { get; private set; }
    public SafetensorsTensorInfo GetInfo(string name) => map[name].info;
    public string FileOf(string name) => map[name].file;
    public Tensor Read(string name)
    {
        var (f, info, start) = map[name];
        var st = info.DType switch { SafetensorsDType.F32 => ScalarType.Float32, SafetensorsDType.BF16 => ScalarType.BFloat16, _ => ScalarType.Float16 };
        var es = info.DType == SafetensorsDType.F32 ? 4 : 2;
        using var all = from_file(f, false, new FileInfo(f).Length / es, st);
        return all.narrow(0, (start + info.DataBegin) / es, (info.DataEnd - info.DataBegin) / es).reshape(info.Shape.ToArray());
    }
    public void Dispose() { }
}
