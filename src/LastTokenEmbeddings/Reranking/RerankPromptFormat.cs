using System.Globalization;
using System.Text;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Reranking;

/// <summary>
/// How a (query, document) pair becomes the ids a yes/no reranker reads, and which tokens mean yes and no. The ids are
/// <c>prefix + body + suffix</c>, each encoded on its own (as the Qwen3-Reranker model card does). The prefix and
/// suffix are the format's own text, so special tokens written in them (<c>&lt;|im_start|&gt;</c>) become their ids;
/// the body, which holds the user's query, document and instruction, is always encoded as plain text, so a document
/// containing <c>&lt;|im_end|&gt;</c> cannot close the template. Truncation shortens the body from its end (the
/// document comes last), never the prefix or suffix.
/// </summary>
public sealed class RerankPromptFormat
{
    /// <summary>The instruction Qwen3-Reranker uses when none is given.</summary>
    public const string DefaultInstruction = "Given a web search query, retrieve relevant passages that answer the query";

    private readonly string[] requiredSpecialTokens;

    private RerankPromptFormat(string name, string prefix, string bodyTemplate, string suffix, string yesToken, string noToken, string defaultInstruction, params string[] requiredSpecialTokens)
    {
        this.requiredSpecialTokens = requiredSpecialTokens;
        Name = name;
        Prefix = prefix;
        BodyTemplate = bodyTemplate;
        Suffix = suffix;
        YesToken = yesToken;
        NoToken = noToken;
        DefaultInstructionText = defaultInstruction;
    }

    /// <summary>
    /// Qwen3-Reranker (0.6B/4B/8B), exactly as its model card builds the input: a system turn asking for "yes" or
    /// "no", the user turn <c>&lt;Instruct&gt;: {instruction}\n&lt;Query&gt;: {query}\n&lt;Document&gt;: {document}</c>,
    /// and an assistant turn with an empty thinking block; the score is P(yes) over {no, yes} at the last position.
    /// </summary>
    public static RerankPromptFormat Qwen3Reranker { get; } = new(
        "qwen3-reranker",
        "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n",
        "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}",
        "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
        "yes",
        "no",
        DefaultInstruction,
        "<|im_start|>", "<|im_end|>");

    /// <summary>
    /// A last-token logit score for another decoder (a Mistral- or Llama-based reranker): a prefix, a body template with
    /// <c>{query}</c> and <c>{document}</c> (and optionally <c>{instruction}</c>), a suffix, and the vocabulary tokens
    /// whose logits mean yes and no.
    /// </summary>
    /// <param name="prefix">Text before the body (special tokens in it become ids; may be empty).</param>
    /// <param name="bodyTemplate">The body with <c>{query}</c> and <c>{document}</c>, the document last.</param>
    /// <param name="suffix">Text after the body (special tokens in it become ids; may be empty).</param>
    /// <param name="yesToken">The vocabulary token (as spelt in the vocabulary) whose logit means relevant.</param>
    /// <param name="noToken">The vocabulary token whose logit means not relevant.</param>
    /// <param name="defaultInstruction">The instruction when a call gives none (for templates with <c>{instruction}</c>).</param>
    /// <returns>The format.</returns>
    /// <exception cref="ArgumentException">The template lacks <c>{query}</c> or <c>{document}</c>, does not end with <c>{document}</c>, or a token is empty.</exception>
    public static RerankPromptFormat Custom(string prefix, string bodyTemplate, string suffix, string yesToken, string noToken, string defaultInstruction = DefaultInstruction)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(bodyTemplate);
        ArgumentNullException.ThrowIfNull(suffix);
        ArgumentException.ThrowIfNullOrEmpty(yesToken);
        ArgumentException.ThrowIfNullOrEmpty(noToken);
        ArgumentNullException.ThrowIfNull(defaultInstruction);
        if (!bodyTemplate.Contains("{query}", StringComparison.Ordinal))
            throw new ArgumentException("The body template must contain {query}.", nameof(bodyTemplate));
        if (!bodyTemplate.EndsWith("{document}", StringComparison.Ordinal))
            throw new ArgumentException("The body template must end with {document}, so truncation cuts only the document.", nameof(bodyTemplate));
        return new RerankPromptFormat("custom", prefix, bodyTemplate, suffix, yesToken, noToken, defaultInstruction);
    }

    /// <summary>"qwen3-reranker" or "custom".</summary>
    public string Name { get; }

    /// <summary>Text before the body.</summary>
    public string Prefix { get; }

    /// <summary>The body with its placeholders.</summary>
    public string BodyTemplate { get; }

    /// <summary>Text after the body.</summary>
    public string Suffix { get; }

    /// <summary>The token whose logit means relevant.</summary>
    public string YesToken { get; }

    /// <summary>The token whose logit means not relevant.</summary>
    public string NoToken { get; }

    /// <summary>The instruction used when a call gives none.</summary>
    public string DefaultInstructionText { get; }

    /// <summary>The ids of the yes and no tokens in <paramref name="tokenizer"/>'s vocabulary.</summary>
    /// <exception cref="InvalidOperationException">A token is not in the vocabulary, or the template's special tokens are not special tokens of it.</exception>
    internal (int Yes, int No) TokenIds(ModelTokenizer tokenizer)
    {
        foreach (var token in requiredSpecialTokens)
        {
            if (tokenizer.TokenToId(token) is not { } id || !tokenizer.IsSpecial(id))
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"The '{Name}' rerank format needs {token} as a special token, which the tokenizer ({tokenizer.SourcePath}) does not have: this is not a checkpoint of that format."));
            }
        }
        return (tokenizer.TokenToId(YesToken) ?? throw Missing(tokenizer, YesToken), tokenizer.TokenToId(NoToken) ?? throw Missing(tokenizer, NoToken));
    }

    /// <summary>The fixed ids around the body: the prefix's and the suffix's.</summary>
    internal (int[] Prefix, int[] Suffix) FixedIds(ModelTokenizer tokenizer) =>
        (tokenizer.EncodeBody(Prefix, parseSpecialTokens: true), tokenizer.EncodeBody(Suffix, parseSpecialTokens: true));

    /// <summary>The body's ids (plain text: special-token strings from users are not parsed).</summary>
    internal int[] BodyIds(ModelTokenizer tokenizer, string query, string document, string? instruction) =>
        tokenizer.EncodeBody(FillBody(query, document, instruction), parseSpecialTokens: false);

    /// <summary>
    /// The body with its placeholders filled in one pass over the template, as Python's <c>str.format</c> does, so a
    /// query or instruction that contains <c>{document}</c> stays literal text instead of receiving the document.
    /// </summary>
    internal string FillBody(string query, string document, string? instruction)
    {
        var body = new StringBuilder(BodyTemplate.Length + query.Length + document.Length + 128);
        var template = BodyTemplate.AsSpan();
        while (template.Length > 0)
        {
            var open = template.IndexOf('{');
            if (open < 0)
            {
                body.Append(template);
                break;
            }
            body.Append(template[..open]);
            template = template[open..];
            var (placeholder, value) = template.StartsWith("{instruction}", StringComparison.Ordinal) ? ("{instruction}", instruction ?? DefaultInstructionText)
                : template.StartsWith("{query}", StringComparison.Ordinal) ? ("{query}", query)
                : template.StartsWith("{document}", StringComparison.Ordinal) ? ("{document}", document)
                : ("{", "{");
            body.Append(value);
            template = template[placeholder.Length..];
        }
        return body.ToString();
    }

    private InvalidOperationException Missing(ModelTokenizer tokenizer, string token) =>
        new(string.Create(CultureInfo.InvariantCulture, $"The '{Name}' rerank format scores the token '{token}', which the tokenizer ({tokenizer.SourcePath}) does not have."));

    /// <inheritdoc />
    public override string ToString() => Name;
}
