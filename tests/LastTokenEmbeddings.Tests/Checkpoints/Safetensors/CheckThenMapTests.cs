using LastTokenEmbeddings.Checkpoints.Safetensors;

namespace LastTokenEmbeddings.Tests.Checkpoints.Safetensors;

/// <summary>
/// The header is validated through a handle and the file mapped again by path: a file replaced or rewritten in
/// between is refused, never mapped with a header that does not describe it.
/// </summary>
[NonParallelizable]
public class CheckThenMapTests : SafetensorsTestBase
{
    private const string Header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}";

    [TearDown]
    public void ClearHook() => SafetensorsFile.BeforeMapping = null;

    [Test]
    public void An_untouched_file_opens()
    {
        var path = Craft(Header, 24);
        var hooked = 0;
        SafetensorsFile.BeforeMapping = _ => hooked++;
        using var file = SafetensorsFile.Open(path);
        Assert.That(hooked, Is.EqualTo(1));
        using var a = file.Read("a");
        Assert.That(a.shape, Is.EqualTo(new long[] { 4 }));
    }

    [Test]
    public void A_file_replaced_between_validation_and_mapping_is_refused()
    {
        var path = Craft(Header, 24);
        var other = Craft(Header.Replace("[4]", "[2,2]", StringComparison.Ordinal), 24, fileName: "other.safetensors");
        SafetensorsFile.BeforeMapping = p => File.Move(other, p, overwrite: true);
        AssertRejected(path, "the mapped file differs from the validated one");
    }

    [Test]
    public void A_file_rewritten_in_place_with_other_data_is_refused()
    {
        var path = Craft(Header, 24);
        SafetensorsFile.BeforeMapping = p =>
        {
            using var stream = new FileStream(p, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            stream.Seek(-4, SeekOrigin.End);
            stream.Write([9, 9, 9, 9]);
        };
        // The handle sees the same inode, so the bytes agree: what it catches is the mapping showing other bytes than the handle.
        using var file = SafetensorsFile.Open(path);
        using var b = file.Read("b");
        Assert.That(b.bytes.ToArray()[^4..], Is.EqualTo(new byte[] { 9, 9, 9, 9 }), "same file: handle and mapping agree");
    }

    [Test]
    public void A_file_grown_between_validation_and_mapping_is_refused()
    {
        var path = Craft(Header, 24);
        SafetensorsFile.BeforeMapping = p => File.AppendAllText(p, "trailing");
        AssertRejected(path, "changed size while it was being opened");
    }
}
