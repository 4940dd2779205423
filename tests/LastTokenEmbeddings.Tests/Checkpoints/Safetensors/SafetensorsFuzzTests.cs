using System.Buffers.Binary;
using System.Text;
using CsCheck;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Checkpoints.Safetensors;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Checkpoints.Safetensors;

/// <summary>
/// Mutation fuzzing of <see cref="SafetensorsFile"/>: valid files get random byte flips, truncations,
/// extensions, header-length changes and JSON edits; opening and reading every tensor must then either
/// succeed or throw <see cref="CheckpointException"/>, never anything else.
/// Set LTE_FUZZ_ITERATIONS for a longer run, LTE_FUZZ_SEED (a CsCheck seed) to replay a failure.
/// </summary>
[Category("Fuzz")]
public class SafetensorsFuzzTests
{
    private const string DefaultSeed = "0000001dik81"; // new PCG(1, 20260101)
    private const int DefaultIterations = 2000;

    private static readonly string[] Snippets =
    [
        "\"", "{", "}", "[", "]", ",", ":", "-", "0", "1", "9", " ", "\\", "\\u0000", "\\ud800", "null", "true", "1.5", "1e3",
        "18446744073709551616", "9223372036854775807", "4294967296", "\"BOOL\"", "\"F8_E4M3\"", "\"U64\"", "\"I64\"",
        "\"__metadata__\"", "\"dtype\"", "\"shape\"", "\"data_offsets\"", "[]", "{}", "\"x\":{}", "\u00e9", "\u00ff",
    ];

    private string _dir = "";
    private byte[][] _bases = [];

    private enum Kind
    {
        FlipBit,
        SetByte,
        Truncate,
        Extend,
        SetHeaderLength,
        NudgeHeaderLength,
        OverwriteHeaderByte,
        InsertSnippet,
        DeleteHeaderBytes,
    }

    private sealed record Mutation(Kind Kind, double Position, int Value, ulong Big);

    [OneTimeSetUp]
    public void CreateBases()
    {
        _dir = Path.Combine(Path.GetTempPath(), "lte-fuzz-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);

        var path = Path.Combine(_dir, "base.safetensors");
        var tensors = new Dictionary<string, Tensor>
        {
            ["w"] = TestTensors.Range(6).reshape(2, 3),
            ["h"] = ones(3, ScalarType.Float16),
            ["b"] = ones(2, 2, ScalarType.BFloat16),
            ["i"] = tensor(new[] { 1L, -2L }),
            ["m"] = tensor(new[] { true, false, true }),
            ["s"] = tensor(7),
            ["e"] = zeros(new long[] { 0, 3 }, ScalarType.Float64),
        };
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
        foreach (var t in tensors.Values)
        {
            t.Dispose();
        }

        // A hand-made file with unaligned data and a U16 tensor.
        var header = Encoding.ASCII.GetBytes("""{"f":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"u":{"dtype":"U16","shape":[1],"data_offsets":[8,10]},"z":{"dtype":"I8","shape":[3],"data_offsets":[10,13]}} """);
        var unaligned = new byte[8 + header.Length + 13];
        BinaryPrimitives.WriteUInt64LittleEndian(unaligned, (ulong)header.Length);
        header.CopyTo(unaligned, 8);
        _bases = [File.ReadAllBytes(path), unaligned];

        foreach (var b in _bases)
        {
            Assert.That(OpenAndReadAll(WriteTemp(b)), Is.True, "each base file is valid");
        }
    }

    [OneTimeTearDown]
    public void DeleteBases()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Test]
    public void Mutated_files_either_load_or_fail_with_CheckpointException()
    {
        var iterations = Fuzzing.Iterations(DefaultIterations);
        var seed = Environment.GetEnvironmentVariable("LTE_FUZZ_SEED") is { Length: > 0 } s ? s : DefaultSeed;

        var mutation = Gen.Select(Gen.Int[0, Enum.GetValues<Kind>().Length - 1], Gen.Double[0, 1], Gen.Int[0, 255], Gen.ULong,
            (kind, position, value, big) => new Mutation((Kind)kind, position, value, big));
        var gen = Gen.Select(Gen.Int[0, _bases.Length - 1], mutation.Array[1, 4]);

        var accepted = 0;
        var rejected = 0;
        gen.Sample((baseIndex, mutations) =>
        {
            var bytes = Mutate(_bases[baseIndex], mutations);
            var path = WriteTemp(bytes);
            try
            {
                if (OpenAndReadAll(path))
                {
                    Interlocked.Increment(ref accepted);
                }
                else
                {
                    Interlocked.Increment(ref rejected);
                }
            }
            finally
            {
                File.Delete(path);
            }
        }, seed: seed, iter: iterations);

        TestContext.Out.WriteLine($"fuzz: {accepted} mutated files accepted, {rejected} rejected with CheckpointException");
        Assert.That(rejected, Is.GreaterThan(0), "the mutations reach the validation");
    }

    /// <summary>True when the file opens and every tensor reads; false on CheckpointException; anything else propagates.</summary>
    private static bool OpenAndReadAll(string path)
    {
        try
        {
            using var file = SafetensorsFile.Open(path);
            var covered = file.Tensors.Values.Sum(t => t.ByteLength);
            Assert.That(covered, Is.EqualTo(file.FileLength - 8 - file.HeaderLength), "accepted files are exactly covered by tensor data");
            foreach (var (name, info) in file.Tensors)
            {
                if (info.DType.ToScalarType() is null)
                {
                    Assert.Throws<SafetensorsFormatException>(() => file.Read(name));
                    continue;
                }
                using var t = file.Read(name);
                using var copy = t.clone(); // touches every byte
                Assert.That(copy.shape, Is.EqualTo(info.Shape));
            }
            return true;
        }
        catch (CheckpointException ex)
        {
            Assert.That(ex.FilePath, Is.EqualTo(path));
            return false;
        }
    }

    private string WriteTemp(byte[] bytes)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Mutate(byte[] original, Mutation[] mutations)
    {
        var bytes = new List<byte>(original);
        foreach (var m in mutations)
        {
            var declared = bytes.Count >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(bytes.GetRange(0, 8).ToArray()) : 0;
            var headerLength = (long)Math.Min(declared, int.MaxValue);
            var headerEnd = bytes.Count < 8 ? bytes.Count : (int)Math.Min(8 + headerLength, bytes.Count);
            int At(int from, int to) => from >= to ? from : from + (int)(m.Position * (to - from));

            switch (m.Kind)
            {
                case Kind.FlipBit when bytes.Count > 0:
                    var i = Math.Min(At(0, bytes.Count), bytes.Count - 1);
                    bytes[i] ^= (byte)(1 << (m.Value % 8));
                    break;
                case Kind.SetByte when bytes.Count > 0:
                    bytes[Math.Min(At(0, bytes.Count), bytes.Count - 1)] = (byte)m.Value;
                    break;
                case Kind.Truncate:
                    bytes.RemoveRange(At(0, bytes.Count), bytes.Count - At(0, bytes.Count));
                    break;
                case Kind.Extend:
                    bytes.AddRange(Enumerable.Repeat((byte)m.Value, 1 + (int)(m.Big % 64)));
                    break;
                case Kind.SetHeaderLength when bytes.Count >= 8:
                    SetHeaderLength(bytes, m.Value % 2 == 0 ? m.Big : m.Big % 4096);
                    break;
                case Kind.NudgeHeaderLength when bytes.Count >= 8:
                    SetHeaderLength(bytes, (ulong)((long)headerLength + (m.Value % 17) - 8));
                    break;
                case Kind.OverwriteHeaderByte when bytes.Count >= 8 && headerEnd > 8:
                    var snippet = Encoding.UTF8.GetBytes(Snippets[m.Value % Snippets.Length]);
                    var at = At(8, headerEnd);
                    for (var k = 0; k < snippet.Length && at + k < headerEnd; k++)
                    {
                        bytes[at + k] = snippet[k];
                    }
                    break;
                case Kind.InsertSnippet when bytes.Count >= 8:
                    var inserted = Encoding.UTF8.GetBytes(Snippets[m.Value % Snippets.Length]);
                    bytes.InsertRange(At(8, headerEnd), inserted);
                    SetHeaderLength(bytes, (ulong)(headerLength + inserted.Length)); // keep the frame consistent
                    break;
                case Kind.DeleteHeaderBytes when bytes.Count >= 8 && headerEnd > 8:
                    var from = At(8, headerEnd);
                    var count = Math.Min(1 + (m.Value % 8), headerEnd - from);
                    bytes.RemoveRange(from, count);
                    SetHeaderLength(bytes, (ulong)(headerLength - count));
                    break;
                default:
                    break;
            }
        }
        return [.. bytes];
    }

    private static void SetHeaderLength(List<byte> bytes, ulong value)
    {
        Span<byte> le = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(le, value);
        for (var k = 0; k < 8; k++)
        {
            bytes[k] = le[k];
        }
    }
}
