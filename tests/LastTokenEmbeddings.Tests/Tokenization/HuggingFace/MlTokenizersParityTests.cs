using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace LastTokenEmbeddings.Tests.Tokenization.HuggingFace;

/// <summary>
/// Where Microsoft.ML.Tokenizers can express a tokenizer.json (byte-level BPE with a regex pre-tokenizer and no
/// added tokens), its BpeTokenizer gives the same ids: a second, independent implementation agreeing on Qwen.
/// </summary>
public class MlTokenizersParityTests
{
    private static readonly Lazy<BpeTokenizer> Reference = new(() =>
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(HuggingFaceFixtures.Directory("tiny-qwen3"), "tokenizer.json")));
        var model = document.RootElement.GetProperty("model");
        var vocab = model.GetProperty("vocab").EnumerateObject().Select(p => new KeyValuePair<string, int>(p.Name, p.Value.GetInt32())).ToList();
        var merges = model.GetProperty("merges").EnumerateArray().Select(m => m[0].GetString() + " " + m[1].GetString()).ToList();
        string pattern = document.RootElement.GetProperty("pre_tokenizer").GetProperty("pretokenizers")[0].GetProperty("pattern").GetProperty("Regex").GetString()!;
        return BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled), null),
        });
    });

    private static IEnumerable<TestCaseData> Texts() =>
        HuggingFaceFixtures.References("tiny-qwen3").Select((r, i) => new TestCaseData(i).SetName($"ML.Tokenizers agrees on Qwen text #{i}"));

    [TestCaseSource(nameof(Texts))]
    public void Byte_level_bpe_agrees_with_microsoft_ml_tokenizers(int index)
    {
        string text = HuggingFaceFixtures.References("tiny-qwen3")[index].Text;
        Assert.That(HuggingFaceFixtures.Tokenizer("tiny-qwen3").Encode(text), Is.EqualTo(Reference.Value.EncodeToIds(text)));
    }
}
