using LastTokenEmbeddings.Pooling;
using System.Buffers.Binary;
using System.Text;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Checkpoints.Safetensors;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Checkpoints.Safetensors;

public class SafetensorsRoundTripTests : SafetensorsTestBase
{
    private static Dictionary<string, Tensor> SampleTensors() => new()
    {
        ["f32"] = TestTensors.Range(12).reshape(3, 4).mul(SafeScalars.Of(0.5)).sub(SafeScalars.Of(2)),
        ["f16"] = TestTensors.Range(6).div(SafeScalars.Of(3)).to_type(ScalarType.Float16),
        ["bf16"] = TestTensors.Range(8).mul(SafeScalars.Of(-1.25)).to_type(ScalarType.BFloat16).reshape(2, 2, 2),
        ["f64"] = tensor(new[] { Math.PI, -0.0, double.MaxValue, double.Epsilon }),
        ["i64"] = tensor(new[] { long.MinValue, -1L, 0L, long.MaxValue }),
        ["i32"] = tensor(new[] { int.MinValue, 7, int.MaxValue }),
        ["i16"] = tensor(new short[] { short.MinValue, 3, short.MaxValue }),
        ["i8"] = tensor(new sbyte[] { sbyte.MinValue, -1, sbyte.MaxValue }),
        ["u8"] = tensor(new byte[] { 0, 1, 255 }),
        ["bool"] = tensor(new[] { true, false, true, true, false }),
        ["scalar"] = tensor(3.5f),
        ["empty"] = zeros(new long[] { 0, 4 }, ScalarType.Float32),
        ["transposed"] = TestTensors.Range(6, ScalarType.Float32).reshape(2, 3).t(),
    };

    private static void AssertSameTensor(Tensor actual, Tensor expected, string name)
    {
        Assert.That(actual.dtype, Is.EqualTo(expected.dtype), name);
        Assert.That(actual.shape, Is.EqualTo(expected.shape), name);
        Assert.That(actual.device_type, Is.EqualTo(TorchSharp.DeviceType.CPU), name);
        // TorchSharp's torch.equal is element-wise; all() reduces it to Python's torch.equal.
        using var elementwise = equal(actual, expected);
        using var same = elementwise.all();
        Assert.That(same.item<bool>(), Is.True, name);
    }

    [Test]
    public void Every_dtype_round_trips_through_write_and_read()
    {
        var tensors = SampleTensors();
        var path = Path.Combine(TempDir, "all.safetensors");
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "a \"quoted\"\nline\u0001é" });

        using (var file = SafetensorsFile.Open(path))
        {
            Assert.That(file.FilePath, Is.EqualTo(path));
            Assert.That(file.FileLength, Is.EqualTo(new FileInfo(path).Length));
            Assert.That(file.Tensors.Keys, Is.EquivalentTo(tensors.Keys));
            Assert.That(file.Metadata, Is.EquivalentTo(new Dictionary<string, string> { ["format"] = "pt", ["note"] = "a \"quoted\"\nline\u0001é" }));
            foreach (var (name, expected) in tensors)
            {
                var info = file.Tensors[name];
                Assert.That(info.Shape, Is.EqualTo(expected.shape), name);
                Assert.That(info.ElementCount, Is.EqualTo(expected.numel()), name);
                Assert.That(info.DType.ToScalarType(), Is.EqualTo(expected.dtype), name);
                using var actual = file.Read(name);
                AssertSameTensor(actual, expected, name);
            }
        }
        foreach (var t in tensors.Values)
        {
            t.Dispose();
        }
    }

    [Test]
    public void Writer_lays_out_tensors_by_descending_alignment_then_name_with_aligned_data()
    {
        var tensors = SampleTensors();
        var path = Path.Combine(TempDir, "order.safetensors");
        SafetensorsWriter.Write(path, tensors);
        using var file = SafetensorsFile.Open(path);

        var byOffset = file.Tensors.Values.OrderBy(t => t.DataBegin).ThenBy(t => t.DataEnd).Select(t => t.Name).ToList();
        var expected = file.Tensors.Values.OrderByDescending(t => t.DType).ThenBy(t => t.Name, StringComparer.Ordinal).Select(t => t.Name).ToList();
        Assert.That(byOffset, Is.EqualTo(expected));
        Assert.That(file.HeaderLength % 8, Is.EqualTo(0));
        foreach (var info in file.Tensors.Values)
        {
            Assert.That((8 + file.HeaderLength + info.DataBegin) % info.DType.ByteSize(), Is.EqualTo(0), info.Name);
        }
    }

    [Test]
    public void Writer_output_is_byte_identical_to_the_reference_layout()
    {
        // The layout the reference crate produces: {"attn.0":...} is exactly 64 bytes, so no padding.
        using var data = tensor(new[] { 0f, 1f, 2f, 3f, 4f, 5f }).reshape(1, 2, 3);
        var path = Path.Combine(TempDir, "ref.safetensors");
        SafetensorsWriter.Write(path, [new("attn.0", data)]);
        var header = """{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}""";
        var expected = new List<byte>(BitConverter.GetBytes(64UL));
        expected.AddRange(Encoding.ASCII.GetBytes(header));
        foreach (var f in new[] { 0f, 1f, 2f, 3f, 4f, 5f })
        {
            expected.AddRange(BitConverter.GetBytes(f));
        }
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected.ToArray()));
    }

    [Test]
    public void Writer_pads_the_header_with_spaces_to_a_multiple_of_8()
    {
        var path = Path.Combine(TempDir, "meta.safetensors");
        SafetensorsWriter.Write(path, [], new Dictionary<string, string> { ["framework"] = "pt" });
        var expected = new List<byte>(BitConverter.GetBytes(40UL));
        expected.AddRange(Encoding.ASCII.GetBytes("""{"__metadata__":{"framework":"pt"}}     """));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected.ToArray()));

        var emptyPath = Path.Combine(TempDir, "empty.safetensors");
        SafetensorsWriter.Write(emptyPath, []);
        Assert.That(File.ReadAllBytes(emptyPath), Is.EqualTo(new byte[] { 8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}', 32, 32, 32, 32, 32, 32 }));
        using var file = SafetensorsFile.Open(emptyPath);
        Assert.That(file.Tensors, Is.Empty);
        Assert.That(file.Metadata, Is.Empty);
    }

    [TestCase("model-00001-of-00002.safetensors")]
    [TestCase("model-00002-of-00002.safetensors")]
    public void Rewriting_a_real_shard_reproduces_it_byte_for_byte(string shard)
    {
        var original = Path.Combine(TestPaths.FixtureDirectory, shard);
        var copy = Path.Combine(TempDir, shard);
        using (var file = SafetensorsFile.Open(original))
        {
            var tensors = file.Tensors.Keys.Select(name => new KeyValuePair<string, Tensor>(name, file.Read(name))).ToList();
            SafetensorsWriter.Write(copy, tensors, file.Metadata);
            foreach (var (_, t) in tensors)
            {
                t.Dispose();
            }
        }
        Assert.That(File.ReadAllBytes(copy), Is.EqualTo(File.ReadAllBytes(original)));
    }

    [Test]
    public void Aligned_reads_are_views_over_one_private_mapping()
    {
        var path = Path.Combine(TempDir, "view.safetensors");
        using (var source = TestTensors.Range(10, ScalarType.Float32))
        {
            SafetensorsWriter.Write(path, [new("x", source)]);
        }
        var before = File.ReadAllBytes(path);

        using var file = SafetensorsFile.Open(path);
        var absolute = 8 + file.HeaderLength + file.Tensors["x"].DataBegin;
        using var first = file.Read("x");
        using var second = file.Read("x");
        Assert.That(first.storage_offset(), Is.EqualTo(absolute / 4), "a view into the mapped file, not a copy");

        first[3] = tensor(-42f);
        Assert.That(second[3].item<float>(), Is.EqualTo(-42f), "both reads share the mapped storage");
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before), "the mapping is private: the file is unchanged");
    }

    [Test]
    public void Unaligned_data_is_copied_with_the_right_values()
    {
        // Header of 10 bytes puts the data at absolute offset 18: not a multiple of 4 or 8.
        var header = Encoding.ASCII.GetBytes("""{"f":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"l":{"dtype":"I64","shape":[2],"data_offsets":[16,32]}}""");
        var padding = (10 - (header.Length % 8)) % 8; // make 8 + N ≡ 2 (mod 8)
        header = [.. header, .. Enumerable.Repeat((byte)' ', padding)];
        Assert.That((8 + header.Length) % 8, Is.EqualTo(2));
        var bytes = new byte[8 + header.Length + 32];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        var data = bytes.AsSpan(8 + header.Length);
        for (var i = 0; i < 4; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(data[(4 * i)..], i + 0.25f);
        }
        BinaryPrimitives.WriteInt64LittleEndian(data[16..], long.MinValue + 5);
        BinaryPrimitives.WriteInt64LittleEndian(data[24..], 123456789012345);
        var path = WriteBytes("unaligned.safetensors", bytes);

        Tensor f, l;
        using (var file = SafetensorsFile.Open(path))
        {
            f = file.Read("f");
            l = file.Read("l");
        }
        using (f)
        using (l)
        using (var expectedF = tensor(new[] { 0.25f, 1.25f, 2.25f, 3.25f }).reshape(2, 2))
        using (var expectedL = tensor(new[] { long.MinValue + 5, 123456789012345L }))
        {
            Assert.That(f.storage_offset(), Is.EqualTo(0), "a copy");
            AssertSameTensor(f, expectedF, "f");
            AssertSameTensor(l, expectedL, "l");
        }
    }

    [Test]
    public void Tensors_stay_valid_after_the_file_is_disposed()
    {
        var path = Path.Combine(TempDir, "dispose.safetensors");
        using (var source = TestTensors.Range(1000, ScalarType.Int64))
        {
            SafetensorsWriter.Write(path, [new("x", source)]);
        }
        Tensor x;
        using (var file = SafetensorsFile.Open(path))
        {
            x = file.Read("x");
        }
        using (x)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Assert.That(x.sum().item<long>(), Is.EqualTo(999L * 1000 / 2));
        }
    }

    [Test]
    public void Read_after_dispose_throws_ObjectDisposedException()
    {
        var path = Path.Combine(TempDir, "d.safetensors");
        using (var source = ones(2))
        {
            SafetensorsWriter.Write(path, [new("x", source)]);
        }
        var file = SafetensorsFile.Open(path);
        file.Dispose();
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.Read("x"));
    }

    [Test]
    public void Open_inside_a_dispose_scope_keeps_the_mapping_alive()
    {
        var path = Path.Combine(TempDir, "scope.safetensors");
        using (var source = TestTensors.Range(4, ScalarType.Float32))
        {
            SafetensorsWriter.Write(path, [new("x", source)]);
        }
        SafetensorsFile file;
        using (NewDisposeScope())
        {
            file = SafetensorsFile.Open(path);
        }
        using (file)
        using (var x = file.Read("x"))
        {
            Assert.That(x.sum().item<float>(), Is.EqualTo(6f));
        }
    }

    [Test]
    public void Writer_rejects_duplicate_reserved_and_unsupported_names()
    {
        var path = Path.Combine(TempDir, "bad.safetensors");
        using var a = ones(2);
        using var c = ones(2, ScalarType.ComplexFloat32);

        var duplicate = Assert.Catch<CheckpointException>(() => SafetensorsWriter.Write(path, [new("a", a), new("a", a)]));
        Assert.That(duplicate!.Message, Does.Contain("'a'").And.Contain("more than once"));
        Assert.That(duplicate.FilePath, Is.EqualTo(path));

        var reserved = Assert.Catch<CheckpointException>(() => SafetensorsWriter.Write(path, [new("__metadata__", a)]));
        Assert.That(reserved!.Message, Does.Contain("reserved"));

        var complex = Assert.Catch<CheckpointException>(() => SafetensorsWriter.Write(path, [new("c", c)]));
        Assert.That(complex!.Message, Does.Contain("'c'").And.Contain("ComplexFloat32"));

        Assert.That(File.Exists(path), Is.False);
        Assert.That(Directory.GetFiles(TempDir), Is.Empty, "no temporary files left behind");
    }

    [Test]
    public void Writer_replaces_an_existing_file()
    {
        var path = Path.Combine(TempDir, "replace.safetensors");
        File.WriteAllText(path, "old contents that are much longer than the new file will be, to detect leftovers......");
        using var x = ones(1);
        SafetensorsWriter.Write(path, [new("x", x)]);
        using var file = SafetensorsFile.Open(path);
        Assert.That(file.Tensors.Keys, Is.EqualTo(new[] { "x" }));
    }

    [Test]
    public void Dtype_helpers_are_consistent()
    {
        foreach (var dtype in Enum.GetValues<SafetensorsDType>())
        {
            Assert.That(SafetensorsDTypeExtensions.TryParseHeaderName(dtype.ToHeaderName(), out var parsed), Is.True);
            Assert.That(parsed, Is.EqualTo(dtype));
            if (dtype.ToScalarType() is { } scalarType)
            {
                Assert.That(SafetensorsDTypeExtensions.TryFromScalarType(scalarType, out var back), Is.True);
                Assert.That(back, Is.EqualTo(dtype));
                using var t = empty(1, scalarType);
                Assert.That(t.ElementSize, Is.EqualTo(dtype.ByteSize()), dtype.ToString());
            }
        }
        Assert.That(SafetensorsDType.Bool.ToHeaderName(), Is.EqualTo("BOOL"));
        Assert.That(SafetensorsDTypeExtensions.TryParseHeaderName("Bool", out _), Is.False);
    }
}
