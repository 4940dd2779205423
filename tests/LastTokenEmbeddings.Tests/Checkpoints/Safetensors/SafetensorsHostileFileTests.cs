using System.Buffers.Binary;
using System.Text;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Checkpoints.Safetensors;

namespace LastTokenEmbeddings.Tests.Checkpoints.Safetensors;

/// <summary>Each malformed-file case is crafted byte by byte and must be rejected with a precise message.</summary>
public class SafetensorsHostileFileTests : SafetensorsTestBase
{
    private const string Valid = """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";

    [Test]
    public void Well_formed_crafted_file_is_accepted()
    {
        var path = Craft(Valid, 8);
        using var file = SafetensorsFile.Open(path);
        Assert.That(file.Tensors.Keys, Is.EqualTo(new[] { "a" }));
        using var a = file.Read("a");
        Assert.That(a.shape, Is.EqualTo(new long[] { 2 }));
    }

    [Test]
    public void Missing_file_is_rejected()
    {
        var path = Path.Combine(TempDir, "absent.safetensors");
        AssertRejected(path, "file not found");
    }

    [Test]
    public void Empty_file_is_rejected() =>
        AssertRejected(WriteBytes("empty.safetensors", []), "file is 0 bytes long, too short");

    [Test]
    public void File_shorter_than_the_length_prefix_is_rejected() =>
        AssertRejected(WriteBytes("short.safetensors", [2, 0, 0, 0, 0, 0, 0]), "file is 7 bytes long, too short");

    [Test]
    public void Header_length_over_100_MB_is_rejected() =>
        AssertRejected(Craft(Valid, 8, declaredLength: 100_000_001), "header length 100000001 exceeds the limit of 100000000 bytes");

    [Test]
    public void Header_length_of_u64_max_is_rejected() =>
        AssertRejected(Craft(Valid, 8, declaredLength: ulong.MaxValue), $"header length {ulong.MaxValue} exceeds the limit");

    [Test]
    public void Header_length_past_end_of_file_is_rejected()
    {
        // Within the 100 MB limit but longer than the file: must fail before allocating the header.
        var path = Craft(Valid, 8, declaredLength: 99_999_999);
        AssertRejected(path, "header length 99999999 runs past the end of the file");
    }

    [Test]
    public void Header_length_one_past_end_of_file_is_rejected()
    {
        var header = Encoding.UTF8.GetBytes(Valid);
        var path = WriteBytes("x.safetensors", CraftBytes(header, 0, declaredLength: (ulong)header.Length + 1));
        AssertRejected(path, $"header length {header.Length + 1} runs past the end of the file");
    }

    [Test]
    public void Header_that_is_not_utf8_is_rejected()
    {
        var header = Encoding.UTF8.GetBytes(Valid);
        header[2] = 0xFF; // inside the tensor name "a"
        var path = WriteBytes("x.safetensors", CraftBytes(header, 8));
        AssertRejected(path, "header is not valid UTF-8");
    }

    [Test]
    public void Header_with_utf8_bom_is_rejected() =>
        AssertRejected(Craft("\uFEFF" + Valid, 8), "header is not a JSON object");

    [Test]
    public void Header_that_is_not_json_is_rejected() =>
        AssertRejected(Craft("""{"a":{"dtype":"F32",""", 8), "header is not valid JSON");

    [Test]
    public void Header_with_trailing_garbage_is_rejected() =>
        AssertRejected(Craft(Valid + "x", 8), "header is not valid JSON");

    [Test]
    public void Empty_header_is_rejected() =>
        AssertRejected(Craft("", 0), "header is not a JSON object");

    [Test]
    public void Header_that_is_a_json_array_is_rejected() =>
        AssertRejected(Craft("[1, 2]  ", 0), "header is not a JSON object");

    [Test]
    public void Header_with_a_lone_surrogate_escape_is_rejected() =>
        AssertRejected(Craft("""{"a\ud800":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 8), "header is not valid JSON");

    [Test]
    public void Header_padded_with_trailing_spaces_is_accepted()
    {
        using var file = SafetensorsFile.Open(Craft(Valid + "      ", 8));
        Assert.That(file.Tensors, Has.Count.EqualTo(1));
    }

    [Test]
    public void Duplicate_tensor_name_is_rejected() =>
        AssertRejected(
            Craft("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", 16),
            "duplicate tensor name in header", "a");

    [Test]
    public void Duplicate_tensor_name_spelled_with_an_escape_is_rejected() =>
        AssertRejected(
            Craft("""{"ab":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a\u0062":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", 16),
            "duplicate tensor name in header", "ab");

    [Test]
    public void Duplicate_metadata_key_is_rejected() =>
        AssertRejected(Craft("""{"__metadata__":{},"__metadata__":{}}""", 0), "duplicate key '__metadata__' in header");

    [Test]
    public void Duplicate_field_in_entry_is_rejected() =>
        AssertRejected(Craft("""{"a":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}""", 8), "duplicate field 'dtype' in header entry", "a");

    [Test]
    public void Entry_that_is_not_an_object_is_rejected() =>
        AssertRejected(Craft("""{"a":[1,2]}""", 0), "header entry must be a JSON object", "a");

    [TestCase("""{"a":{"shape":[2],"data_offsets":[0,8]}}""", "header entry has no 'dtype'")]
    [TestCase("""{"a":{"dtype":"F32","data_offsets":[0,8]}}""", "header entry has no 'shape'")]
    [TestCase("""{"a":{"dtype":"F32","shape":[2]}}""", "header entry has no 'data_offsets'")]
    public void Entry_with_a_missing_field_is_rejected(string header, string message) =>
        AssertRejected(Craft(header, 8), message, "a");

    [Test]
    public void Unknown_dtype_is_rejected() =>
        AssertRejected(Craft("""{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}""", 8), "unknown dtype 'F33'", "a");

    [Test]
    public void Dtype_in_the_wrong_case_is_rejected() =>
        AssertRejected(Craft("""{"a":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}}""", 8), "unknown dtype 'f32'", "a");

    [Test]
    public void Dtype_that_is_not_a_string_is_rejected() =>
        AssertRejected(Craft("""{"a":{"dtype":7,"shape":[2],"data_offsets":[0,8]}}""", 8), "dtype must be a string, not a number", "a");

    [Test]
    public void Fp8_dtype_is_rejected_as_unsupported() =>
        AssertRejected(Craft("""{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}""", 2), "dtype 'F8_E4M3' is not supported", "a");

    [Test]
    public void Negative_dimension_is_rejected() =>
        AssertRejected(Craft("""{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", 8), "shape[0] must be a non-negative integer, not -2", "a");

    [Test]
    public void Fractional_dimension_is_rejected() =>
        AssertRejected(Craft("""{"a":{"dtype":"F32","shape":[2, 1.5],"data_offsets":[0,8]}}""", 8), "shape[1] must be a non-negative integer, not 1.5", "a");

    [Test]
    public void Dimension_that_is_a_string_is_rejected() =>
        AssertRejected(Craft("""{"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}""", 8), "shape[0] must be a non-negative integer, not a string", "a");

    [Test]
    public void Shape_that_is_not_an_array_is_rejected() =>
        AssertRejected(Craft("""{"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}""", 8), "shape must be an array of non-negative integers, not a number", "a");

    [Test]
    public void Dimension_beyond_64_bits_is_rejected() =>
        AssertRejected(Craft("""{"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8]}}""", 8), "shape[0] 18446744073709551616 is too large", "a");

    [Test]
    public void Shape_whose_element_count_overflows_is_rejected() =>
        AssertRejected(Craft("""{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,8]}}""", 8), "shape [4294967296, 4294967296] overflows", "a");

    [Test]
    public void Shape_whose_byte_count_overflows_is_rejected() =>
        AssertRejected(Craft("""{"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}}""", 8), "shape [4611686018427387904] overflows", "a");

    [Test]
    public void Data_offsets_with_end_before_begin_are_rejected() =>
        AssertRejected(Craft("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}""", 8), "data_offsets [8, 0] end before they begin", "a");

    [TestCase("""[0]""")]
    [TestCase("""[0,8,16]""")]
    [TestCase("""{"begin":0}""")]
    public void Data_offsets_that_are_not_a_pair_are_rejected(string offsets) =>
        AssertRejected(Craft("""{"a":{"dtype":"F32","shape":[2],"data_offsets":""" + offsets + "}}", 8), "data_offsets must be an array of two non-negative integers", "a");

    [Test]
    public void Negative_data_offset_is_rejected() =>
        AssertRejected(Craft("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}""", 8), "data_offsets begin must be a non-negative integer, not -8", "a");

    [Test]
    public void Data_size_that_does_not_match_shape_and_dtype_is_rejected() =>
        AssertRejected(Craft("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8), "data_offsets [0, 8] span 8 bytes, but dtype F32 with shape [3] needs 12 bytes", "a");

    [Test]
    public void Metadata_that_is_not_an_object_is_rejected() =>
        AssertRejected(Craft("""{"__metadata__":["x"]}""", 0), "__metadata__ must be a JSON object mapping strings to strings, not an array");

    [Test]
    public void Metadata_with_a_non_string_value_is_rejected() =>
        AssertRejected(Craft("""{"__metadata__":{"format":"pt","epoch":3}}""", 0), "__metadata__ must map strings to strings, but key 'epoch' has a number value");

    [Test]
    public void Null_metadata_is_read_as_none_like_the_reference()
    {
        using var file = SafetensorsFile.Open(Craft("""{"__metadata__":null}""", 0));
        Assert.That(file.Metadata, Is.Empty);
        Assert.That(file.Tensors, Is.Empty);
    }

    [Test]
    public void First_tensor_not_at_offset_zero_is_rejected() =>
        AssertRejected(Craft("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12), "gap in the data section: the first tensor's data begins at byte 4, not 0", "a");

    [Test]
    public void Gap_between_tensors_is_rejected() =>
        AssertRejected(
            Craft("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}""", 16),
            "gap in the data section: data begins at byte 12, but the previous tensor 'a' ends at byte 8", "b");

    [Test]
    public void Overlapping_tensors_are_rejected() =>
        AssertRejected(
            Craft("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12),
            "data [4, 12] overlaps tensor 'a', which ends at byte 8", "b");

    [Test]
    public void Two_tensors_sharing_the_same_bytes_are_rejected() =>
        AssertRejected(
            Craft("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}""", 8),
            "overlaps tensor", "b");

    [Test]
    public void Trailing_bytes_after_the_data_are_rejected() =>
        AssertRejected(Craft(Valid, 9), "1 trailing bytes after the last tensor's data");

    [Test]
    public void Data_past_the_end_of_the_file_is_rejected() =>
        AssertRejected(Craft(Valid, 7), "data ends at byte 8 of the data section, past the end of the file (the data section has 7 bytes)", "a");

    [Test]
    public void Huge_offsets_past_the_end_of_the_file_are_rejected() =>
        AssertRejected(
            Craft("""{"a":{"dtype":"U8","shape":[9223372036854775807],"data_offsets":[0,9223372036854775807]}}""", 8),
            "past the end of the file", "a");

    [Test]
    public void Header_only_file_with_bytes_after_it_is_rejected() =>
        AssertRejected(Craft("{}", 3), "3 trailing bytes after the last tensor's data");

    [Test]
    public void Unknown_tensor_name_is_rejected_with_file_and_tensor()
    {
        var path = Craft(Valid, 8);
        using var file = SafetensorsFile.Open(path);
        var ex = Assert.Catch<CheckpointException>(() => file.Read("nope"));
        Assert.That(ex!.FilePath, Is.EqualTo(path));
        Assert.That(ex.TensorName, Is.EqualTo("nope"));
        Assert.That(ex.Message, Does.Contain("'nope'").And.Contain(path).And.Contain("no such tensor"));
    }

    [TestCase("U16", 2)]
    [TestCase("U32", 4)]
    [TestCase("U64", 8)]
    public void Unsigned_dtypes_without_a_torch_type_validate_but_refuse_to_read(string dtype, int size)
    {
        var path = Craft($$$"""{"u":{"dtype":"{{{dtype}}}","shape":[2],"data_offsets":[0,{{{2 * size}}}]}}""", 2 * size);
        using var file = SafetensorsFile.Open(path);
        Assert.That(file.Tensors["u"].DType.ToHeaderName(), Is.EqualTo(dtype));
        var ex = Assert.Catch<CheckpointException>(() => file.Read("u"));
        Assert.That(ex!.Message, Does.Contain($"dtype {dtype} has no TorchSharp equivalent").And.Contain("'u'"));
    }

    [Test]
    public void Unknown_fields_in_an_entry_are_ignored_like_the_reference()
    {
        using var file = SafetensorsFile.Open(Craft("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":{"x":[1]}}}""", 8));
        Assert.That(file.Tensors["a"].DataEnd, Is.EqualTo(8));
    }

    [Test]
    public void Header_length_is_read_little_endian()
    {
        var header = Encoding.UTF8.GetBytes(Valid);
        var bytes = CraftBytes(header, 8);
        BinaryPrimitives.WriteUInt64BigEndian(bytes, (ulong)header.Length);
        AssertRejected(WriteBytes("x.safetensors", bytes), "exceeds the limit");
    }
}
