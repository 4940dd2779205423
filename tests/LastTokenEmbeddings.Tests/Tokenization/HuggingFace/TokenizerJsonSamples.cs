using System.Text;
using System.Text.Json.Nodes;

namespace LastTokenEmbeddings.Tests.Tokenization.HuggingFace;

/// <summary>Small, valid tokenizer.json documents to mutate in tests.</summary>
internal static class TokenizerJsonSamples
{
    /// <summary>GPT-2's byte → printable character table (space → Ġ).</summary>
    public static readonly char[] ByteChars = BuildByteChars();

    private static char[] BuildByteChars()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
            map[b] = b is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 ? (char)b : (char)next++;
        return map;
    }

    /// <summary>
    /// A byte-level BPE: the 256 byte characters (ids 0-255), merges "h e" → "he" (256), "l l" → "ll" (257),
    /// "he ll" → "hell" (258), "hell o" → "hello" (259), "Ġ w" → "Ġw" (260); added tokens &lt;|end|&gt; (261, special)
    /// and &lt;x&gt; (262, not special). Parts can be replaced by raw JSON.
    /// </summary>
    public static string ByteLevel(string? preTokenizer = null, string? normalizer = null, string? postProcessor = null, string? decoder = null, string? addedTokens = null, string? modelExtra = null)
    {
        var vocab = new StringBuilder();
        for (int b = 0; b < 256; b++)
            vocab.Append(JsonValue.Create(ByteChars[b].ToString())!.ToJsonString()).Append(':').Append(b).Append(',');
        vocab.Append("\"he\":256,\"ll\":257,\"hell\":258,\"hello\":259,\"Ġw\":260");
        return """
            {
              "version": "1.0", "truncation": null, "padding": null,
              "added_tokens": @ADDED@,
              "normalizer": @NORMALIZER@,
              "pre_tokenizer": @PRE@,
              "post_processor": @POST@,
              "decoder": @DECODER@,
              "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null, "end_of_word_suffix": null,
                        "fuse_unk": false, "byte_fallback": false, "ignore_merges": false@EXTRA@,
                        "vocab": {@VOCAB@},
                        "merges": [["h", "e"], ["l", "l"], ["he", "ll"], ["hell", "o"], ["Ġ", "w"]]}
            }
            """
            .Replace("@ADDED@", addedTokens ?? """
                [{"id": 261, "content": "<|end|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                 {"id": 262, "content": "<x>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": false}]
                """, StringComparison.Ordinal)
            .Replace("@NORMALIZER@", normalizer ?? """{"type": "NFC"}""", StringComparison.Ordinal)
            .Replace("@PRE@", preTokenizer ?? """{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": true}""", StringComparison.Ordinal)
            .Replace("@POST@", postProcessor ?? """
                {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<|end|>", "type_id": 0}}],
                 "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                 "special_tokens": {"<|end|>": {"id": "<|end|>", "ids": [261], "tokens": ["<|end|>"]}}}
                """, StringComparison.Ordinal)
            .Replace("@DECODER@", decoder ?? """{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}""", StringComparison.Ordinal)
            .Replace("@EXTRA@", modelExtra ?? "", StringComparison.Ordinal)
            .Replace("@VOCAB@", vocab.ToString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// A SentencePiece-style BPE with byte fallback: &lt;unk&gt; 0, &lt;s&gt; 1, &lt;/s&gt; 2, byte tokens &lt;0x00&gt;..&lt;0xFF&gt;
    /// (3-258), "▁" 259, "a" 260, "b" 261, "▁a" 262 (merge "▁ a"); Prepend("▁") + Replace(" ", "▁"); template adds &lt;s&gt;.
    /// </summary>
    public static string Piece(string? normalizer = null, string? preTokenizer = null, string? addedTokens = null)
    {
        var vocab = new StringBuilder("\"<unk>\":0,\"<s>\":1,\"</s>\":2,");
        for (int b = 0; b < 256; b++)
            vocab.Append($"\"<0x{b:X2}>\":{b + 3},");
        vocab.Append("\"▁\":259,\"a\":260,\"b\":261,\"▁a\":262");
        return """
            {
              "version": "1.0", "truncation": null, "padding": null,
              "added_tokens": @ADDED@,
              "normalizer": @NORMALIZER@,
              "pre_tokenizer": @PRE@,
              "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                                 "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                                 "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
              "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
              "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null, "end_of_word_suffix": null,
                        "fuse_unk": true, "byte_fallback": true, "vocab": {@VOCAB@}, "merges": ["▁ a"]}
            }
            """
            .Replace("@ADDED@", addedTokens ?? """
                [{"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                 {"id": 1, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                 {"id": 2, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}]
                """, StringComparison.Ordinal)
            .Replace("@NORMALIZER@", normalizer ?? """{"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}""", StringComparison.Ordinal)
            .Replace("@PRE@", preTokenizer ?? "null", StringComparison.Ordinal)
            .Replace("@VOCAB@", vocab.ToString(), StringComparison.Ordinal);
    }
}

/// <summary>A temporary file (or folder of files) deleted on disposal.</summary>
internal sealed class TempFile : IDisposable
{
    public TempFile(string content, string name = "tokenizer.json")
    {
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lte-hf-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        Path = System.IO.Path.Combine(Directory, name);
        File.WriteAllText(Path, content);
    }

    public string Directory { get; }

    public string Path { get; }

    /// <summary>Writes another file next to <see cref="Path"/> and returns its path.</summary>
    public string Add(string name, string content)
    {
        string path = System.IO.Path.Combine(Directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
