using System.Buffers.Binary;
using System.Text;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Checkpoints.Safetensors;

namespace LastTokenEmbeddings.Tests.Checkpoints.Safetensors;

/// <summary>Helpers that build safetensors files byte by byte, and a per-test temporary directory.</summary>
public abstract class SafetensorsTestBase
{
    /// <summary>A fresh directory for the current test, deleted afterwards.</summary>
    protected string TempDir { get; private set; } = "";

    [SetUp]
    public void CreateTempDir()
    {
        TempDir = Path.Combine(Path.GetTempPath(), "lte-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(TempDir);
    }

    [TearDown]
    public void DeleteTempDir()
    {
        try
        {
            Directory.Delete(TempDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Writes raw bytes to a file in <see cref="TempDir"/> and returns its path.</summary>
    protected string WriteBytes(string fileName, byte[] bytes)
    {
        var path = Path.Combine(TempDir, fileName);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>
    /// A safetensors file: 8-byte little-endian header length (<paramref name="declaredLength"/>, or the
    /// real one), the UTF-8 <paramref name="header"/>, then <paramref name="dataLength"/> data bytes.
    /// </summary>
    protected string Craft(string header, long dataLength, ulong? declaredLength = null, string fileName = "crafted.safetensors") =>
        WriteBytes(fileName, CraftBytes(Encoding.UTF8.GetBytes(header), dataLength, declaredLength));

    internal static byte[] CraftBytes(byte[] header, long dataLength, ulong? declaredLength = null)
    {
        var bytes = new byte[8 + header.Length + dataLength];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        for (var i = 0; i < dataLength; i++)
        {
            bytes[8 + header.Length + i] = (byte)(i * 7 + 1);
        }
        return bytes;
    }

    /// <summary>Asserts that opening <paramref name="path"/> (and reading all tensors) fails with a precise checkpoint error.</summary>
    protected static CheckpointException AssertRejected(string path, string messageFragment, string? tensorName = null)
    {
        var ex = Assert.Catch<CheckpointException>(() =>
        {
            using var file = SafetensorsFile.Open(path);
            foreach (var name in file.Tensors.Keys)
            {
                file.Read(name).Dispose();
            }
        });
        Assert.That(ex, Is.Not.Null);
        Assert.That(ex!.FilePath, Is.EqualTo(path));
        Assert.That(ex.Message, Does.Contain(path));
        Assert.That(ex.Message, Does.Contain(messageFragment));
        if (tensorName is not null)
        {
            Assert.That(ex.TensorName, Is.EqualTo(tensorName));
            Assert.That(ex.Message, Does.Contain($"'{tensorName}'"));
        }
        return ex;
    }
}
