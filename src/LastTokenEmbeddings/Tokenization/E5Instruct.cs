namespace LastTokenEmbeddings.Tokenization;

/// <summary>Constants of the e5-mistral-7b-instruct prompt format (see <see cref="PromptFormat.E5Instruct(string?)"/>).</summary>
public static class E5Instruct
{
    /// <summary>
    /// The instruction used when none is given: the web-search retrieval task of e5-mistral-7b-instruct.
    /// </summary>
    public const string DefaultInstruction = "Given a web search query, retrieve relevant passages that answer the query";
}
